"""Evaluate the exported network on the exported accelerator with zigzag-dse (KU Leuven's ZigZag).

Needs zigzag-dse (3.9) and pyyaml; codesign is optional (when importable, its fix for a ZigZag
assertion on tiny layers is applied — see accel_models.zigzag_backend.prepare_zigzag):

    python accelerator/zigzag/run_zigzag.py

Prints one JSON line: total cycles, latency (ms, at the accelerator's clock) and energy (pJ, mJ).
The workload lists every conv/fc layer as its own ZigZag layer; elementwise, pooling and data-movement
layers are not in it (codesign costs those with its analytical vector-unit model).
"""
import json
import pathlib
import sys
import tempfile

import yaml

HERE = pathlib.Path(__file__).resolve().parent
SETTINGS = {"lpf_limit": 4, "nb_spatial_mappings_generated": 3}  # what codesign's zigzag backend uses


def main():
    try:
        from accel_models.zigzag_backend import prepare_zigzag

        prepare_zigzag()
    except ImportError:
        pass
    from zigzag.api import get_hardware_performance_zigzag

    clock_mhz = float(yaml.safe_load((HERE.parent / "accelerator.yaml").read_text())["clock_mhz"])
    with tempfile.TemporaryDirectory() as dump:
        energy_pj, cycles, _ = get_hardware_performance_zigzag(
            str(HERE / "workload.yaml"), str(HERE / "accelerator.yaml"), str(HERE / "mapping.yaml"),
            temporal_mapping_type="uneven", loma_show_progress_bar=False, dump_folder=dump, **SETTINGS)
    print(json.dumps({"cycles": float(cycles), "latency_ms": float(cycles) / clock_mhz / 1e3,
                      "energy_pj": float(energy_pj), "energy_mj": float(energy_pj) * 1e-9}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
