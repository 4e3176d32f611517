"""``codesign hw show|list|calibrate``: validate, print and calibrate accelerator configurations."""
from __future__ import annotations

import argparse

from ..hw_files import resolve_accel, template_names
from ..errors import Problem, ValidationError
from accel_models.hardware_arrays import accel_arrays
from latency_predictors.device_measurements import measured_workloads, read_measurements


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("hw", help="accelerator configurations")
    hsub = p.add_subparsers(dest="hw_cmd", required=True)
    s = hsub.add_parser("show", help="validate a hardware template or YAML file and print it")
    s.add_argument("config", metavar="NAME|FILE", help="template name (see `codesign hw list`) or YAML path")
    s.set_defaults(func=show)
    ls = hsub.add_parser("list", help="list the shipped hardware templates")
    ls.set_defaults(func=list_templates)
    c = hsub.add_parser("calibrate", help="fit a template's efficiency terms to measured latencies of the real "
                                          "accelerator (a measurement CSV as `codesign device fit` reads)")
    c.add_argument("config", metavar="TEMPLATE", help="template name or YAML path")
    c.add_argument("measurements", metavar="MEAS.csv")
    c.add_argument("--out", required=True, metavar="FILE.yaml")
    c.set_defaults(func=calibrate)


def show(args: argparse.Namespace) -> int:
    accel = resolve_accel(args.config)
    print(accel.to_yaml().rstrip())

    area = float(accel_arrays([accel]).area_mm2[0])
    print(f"# {accel.num_pes} PEs, {accel.peak_macs_per_cycle} MACs/cycle, {accel.peak_gmacs_per_s:.1f} GMAC/s peak, "
          f"{area:.3g} mm² ({accel.tech} technology table)")
    print(accel.to_string())
    return 0


def list_templates(args: argparse.Namespace) -> int:
    for name in template_names():
        print(f"{name:16s} {resolve_accel(name)}")
    return 0


def calibrate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from accel_models.calibration import calibrate_accel

    accel = resolve_accel(args.config)
    meas = read_measurements(args.measurements)
    _, workloads, latency_ms = measured_workloads(meas, "latency_ms")
    calibrated, rep = calibrate_accel(accel, workloads, latency_ms)
    out = Path(args.out)
    if out.suffix not in (".yaml", ".yml"):
        raise ValidationError(Problem(str(out), "--out must be a .yaml file"))
    name = f"{Path(args.config).stem}_calibrated"
    desc = (f"{args.config} calibrated on {rep['networks']} measured networks of {meas.device.get('device', '?')} "
            f"({args.measurements}); leave-one-out median error {100 * rep['loo_median_rel_err']:.1f}%")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(calibrated.to_yaml(name=name, description=desc), encoding="utf-8")
    print(f"median error on the measurements: ideal model {100 * rep['median_rel_err_ideal']:.1f}%, calibrated "
          f"{100 * rep['median_rel_err_calibrated']:.1f}% (leave-one-out {100 * rep['loo_median_rel_err']:.1f}%)")
    for key, value in calibrated.calibration.to_dict().items():
        print(f"  {key}: {value:g}")
    print(f"wrote {out}: {calibrated}")
    return 0
