"""Device models from a few measurements, scored as HELP does.

Learn the prior on the reference devices only (``1080ti_*``, ``silver_*``, ``samsung_*``, ``pixel3``,
``essential_ph_1``); on each unseen device (``titanx_*``, ``gold_6240``, both spaces) and on this
host's CPU (onnxruntime, 1 thread, default-space networks measured live), draw K ∈ {5, 10, 20}
measured networks 20 times, fit, and predict every other network of that device. HELP's meta-test
devices are never read.

    python benchmarks/device_calibration.py [--quick] [--write-prior] [--data DIR]

``--write-prior`` relearns ``latency_predictors/data/device_prior.json`` from the reference devices
(otherwise the shipped prior is scored). The last stdout line is JSON.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_io import publish  # noqa: E402
from codesign.nets import network_workload  # noqa: E402
from latency_predictors.device_model import posterior_fit  # noqa: E402
from latency_predictors.device_prior import SHIPPED_PRIOR, DevicePrior, ReferenceTable, learn_prior, valid_rows  # noqa: E402
from latency_predictors.reference_devices import FILES, SOURCES, load_table, role  # noqa: E402
from latency_predictors.workload_features import FEATURES, feature_matrix  # noqa: E402

KS = (5, 10, 20)
MACS = [FEATURES.index(f) for f in FEATURES if f.startswith("mmacs_") and "_min_" not in f]


def score(prior: DevicePrior, x: np.ndarray, y: np.ndarray, k: int, draws: int, seed: int) -> tuple[float, float, float]:
    """Mean Spearman ρ, mean share within ±10% and mean share within ±1 predicted standard
    deviation, over ``draws`` random draws of ``k`` measurements."""
    rng = np.random.default_rng(seed)
    ok = np.flatnonzero(valid_rows(y))
    rhos, hits, covered = [], [], []
    for _ in range(draws):
        idx = rng.permutation(ok)
        tr, te = idx[:k], idx[k:]
        pred, sd = posterior_fit(prior, x[tr], y[tr]).predict(x[te])
        rhos.append(spearmanr(pred, y[te]).statistic)
        hits.append(np.mean(np.abs(pred - y[te]) / y[te] <= 0.10))
        covered.append(np.mean(np.abs(pred - y[te]) <= sd))
    return float(np.mean(rhos)), float(np.mean(hits)), float(np.mean(covered))


def measure_host(n: int, seed: int, cache: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Features and measured onnxruntime latency (ms, 1 thread) of ``n`` default-space networks;
    with ``cache``, measurements already in that JSON file (architecture → ms) are reused and new
    ones added to it, so a rerun on the same host scores the same networks without re-timing them."""
    import json

    from codesign.json_io import write_json_atomic
    from codesign.workload.onnx_export import export_onnx
    from codesign.spaces import ArchSpace
    from codesign.workload.from_arch import arch_workload
    from latency_predictors.ort_runtime import measure_ort

    space, rng = ArchSpace.default(), np.random.default_rng(seed)
    archs = [space.sample(rng) for _ in range(n)]
    known = json.loads(Path(cache).read_text()) if cache and Path(cache).is_file() else {}
    for i, a in enumerate(archs):
        if a.to_string() not in known:
            known[a.to_string()] = measure_ort(export_onnx(a), threads=1).median_ms
            if cache and (i % 20 == 19 or i == n - 1):
                write_json_atomic(cache, known)
    lat = np.array([known[a.to_string()] for a in archs])
    return feature_matrix([arch_workload(a) for a in archs]), lat


def host_repeat_agreement(n: int, seed: int, cache: str | None) -> float | None:
    """This host's noise floor: the share of the first ``n`` host networks whose fresh measurement
    is within ±10% of the one scored (no model can agree with a measurement better than the
    measurement agrees with itself)."""
    import json

    if not cache or n <= 0:
        return None
    from codesign.workload.onnx_export import export_onnx
    from codesign.spaces import ArchSpace
    from latency_predictors.ort_runtime import measure_ort

    space, rng = ArchSpace.default(), np.random.default_rng(seed)
    archs = [space.sample(rng) for _ in range(n)]
    known = json.loads(Path(cache).read_text())
    again = np.array([measure_ort(export_onnx(a), threads=1).median_ms for a in archs])
    first = np.array([known[a.to_string()] for a in archs])
    return float(np.mean(np.abs(again / first - 1) <= 0.10))


def template_calibration(n_calib: int, n_held_out: int, seed: int) -> dict:
    """Calibrate ``eyeriss_like`` on ``n_calib`` compact-space networks measured on zigzag-dse (the
    stand-in for the real accelerator) at its own PE array, then compare the calibrated and the
    ideal analytical model with zigzag-dse on ``n_held_out`` other networks at that array and at
    half and twice its rows and columns (settings the calibration never saw)."""
    from dataclasses import replace

    from accel_models.analytical_backend import evaluate_batch
    from accel_models.calibration import calibrate_accel
    from accel_models.registry import evaluate
    from codesign.hw_files import resolve_accel
    from codesign.spaces import ArchSpace
    from codesign.workload.from_arch import arch_workload

    template = resolve_accel("eyeriss_like")
    space, rng = ArchSpace.resolve("ibn_32_compact"), np.random.default_rng(seed)
    archs = list({a.to_string(): a for a in (space.sample(rng) for _ in range(3 * (n_calib + n_held_out)))}.values())
    calib = [arch_workload(a) for a in archs[:n_calib]]
    held = [arch_workload(a) for a in archs[n_calib:n_calib + n_held_out]]
    zigzag = lambda acc, wls: np.array([evaluate(w, acc, backend="zigzag").latency_ms for w in wls])  # noqa: E731
    calibrated, rep = calibrate_accel(template, calib, zigzag(template, calib))
    out = {"template": "eyeriss_like", "stand_in": "zigzag-dse", "calibration_networks": n_calib,
           "held_out_networks": n_held_out, "loo_median_rel_err": round(rep["loo_median_rel_err"], 4), "settings": {}}
    for rows, cols in ((template.pe_rows, template.pe_cols), (template.pe_rows // 2, template.pe_cols // 2),
                       (template.pe_rows * 2, template.pe_cols * 2)):
        setting = replace(template, pe_rows=rows, pe_cols=cols)
        truth = zigzag(setting, held)
        ideal = evaluate_batch(held, [setting]).latency_ms
        cal = evaluate_batch(held, [replace(setting, calibration=calibrated.calibration)]).latency_ms
        out["settings"][f"{rows}x{cols}" + (" (calibrated here)" if rows == template.pe_rows else "")] = {
            "spearman_calibrated": round(float(spearmanr(cal, truth).statistic), 4),
            "spearman_ideal": round(float(spearmanr(ideal, truth).statistic), 4),
            "median_rel_err_calibrated": round(float(np.median(np.abs(cal / truth - 1))), 4),
            "median_rel_err_ideal": round(float(np.median(np.abs(ideal / truth - 1))), 4)}
    others = [v["spearman_calibrated"] for k, v in out["settings"].items() if "calibrated here" not in k]
    out["min_spearman_other_sizes"] = min(others)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "device_latency"))
    ap.add_argument("--quick", action="store_true", help="a subsample of each table, fewer draws and host networks")
    ap.add_argument("--write-prior", action="store_true", help="relearn and save the shipped prior first")
    ap.add_argument("--draws", type=int, default=20)
    ap.add_argument("--host-networks", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--host-cache", metavar="FILE.json", help="reuse/extend this host's measurements (arch → ms)")
    ap.add_argument("--host-repeat", type=int, default=50, help="host networks measured again for the noise floor")
    ap.add_argument("--template-networks", type=int, default=12, help="held-out networks of the template check")
    args = ap.parse_args()
    draws = 5 if args.quick else args.draws
    host_n = 40 if args.quick else args.host_networks
    t0 = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    tables = {}
    for family in FILES:
        archs, devices, lat = load_table(args.data, family)
        if args.quick:
            keep = np.sort(rng.choice(len(archs), size=min(len(archs), 800), replace=False))
            archs, lat = [archs[i] for i in keep], lat[keep]
        tables[family] = (feature_matrix([network_workload(a) for a in archs]), lat, devices)
        print(f"{family}: {len(archs)} networks, features in {time.perf_counter() - t0:.0f} s", flush=True)
    meta = {}
    if args.write_prior:
        refs = [ReferenceTable(f, x, lat[:, [role(d) == "reference" for d in devs]],
                               [d for d in devs if role(d) == "reference"]) for f, (x, lat, devs) in tables.items()]
        prior, meta = learn_prior(refs, sources=SOURCES)
        prior.save(SHIPPED_PRIOR)
        print(f"prior: alpha {prior.alpha}, beta {prior.beta}, sigma {prior.sigma}; "
              f"meta-validation rho {meta['meta_validation_spearman']:.3f}", flush=True)
    prior = DevicePrior.load()
    spearman_at_k: dict = {}
    within_at_20, coverage, flops = [], [], {}
    for family, (x, lat, devs) in tables.items():
        for j, dev in enumerate(devs):
            if role(dev) != "unseen":
                continue
            y = lat[:, j]
            for k in KS:
                rho, within, covered = score(prior, x, y, k, draws, args.seed + k)
                spearman_at_k.setdefault(family, {}).setdefault(dev, {})[k] = round(rho, 4)
                if k == 20:
                    within_at_20.append(within)
                if k == 10:
                    coverage.append(covered)
            flops.setdefault(family, {})[dev] = round(float(spearmanr(x[:, MACS].sum(axis=1), y).statistic), 4)
            print(f"{family} {dev}: {spearman_at_k[family][dev]}", flush=True)
    hx, hy = measure_host(host_n, args.seed, args.host_cache)
    host_rho, host_within, _ = score(prior, hx, hy, 10, draws, args.seed)
    repeat = host_repeat_agreement(min(args.host_repeat, host_n), args.seed, args.host_cache)
    print(f"host: rho@10 {host_rho:.3f}, within 10% {host_within:.2f}, repeat agreement {repeat}", flush=True)
    template_cal = {"skipped": "zigzag-dse takes ~40 s per network here; run without --quick"} if args.quick \
        else template_calibration(10, args.template_networks, args.seed)
    at10 = [v[10] for fam in spearman_at_k.values() for v in fam.values()] + [host_rho]
    results = {
        "spearman_at_k": spearman_at_k,
        "mean_spearman_at_10": round(float(np.mean(at10)), 4),
        "min_spearman_at_10": round(float(np.min(at10)), 4),
        "within_10pct_at_20": round(float(np.mean(within_at_20)), 4),
        "coverage_1sd_at_10": round(float(np.mean(coverage)), 4),
        "flops_spearman": flops,
        "host_spearman_at_10": round(host_rho, 4),
        "host_within_10pct_at_10": round(host_within, 4),
        "host_networks": host_n,
        "host_repeat_within_10pct": None if repeat is None else round(repeat, 4),
        "draws": draws,
        "template_calibration": template_cal,
        "prior": {"alpha": prior.alpha, "beta": prior.beta, "sigma": prior.sigma, "bases": len(prior.basis_names),
                  **({"meta_validation_spearman": round(meta["meta_validation_spearman"], 4)} if meta else {})},
        "seconds": round(time.perf_counter() - t0, 1),
    }
    cmd = "python benchmarks/device_calibration.py" + (" --quick" if args.quick else "") + \
        (" --write-prior" if args.write_prior else "") + (f" --host-cache {args.host_cache}" if args.host_cache else "")
    notes = ("Protocol as HELP's: prior from the reference devices only; each unseen device calibrated from K "
             "random measured networks (mean over draws), scored on all its other networks. `mean/min_spearman_at_10` "
             "include the host CPU. `host_repeat_within_10pct`: the host's own noise floor, the share of networks "
             "whose second measurement (taken later) is within ±10% of the first.")
    publish("device_calibration_quick" if args.quick else "device_calibration", results, cmd, notes)


if __name__ == "__main__":
    main()
