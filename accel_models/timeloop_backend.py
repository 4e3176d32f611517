"""The ``timeloop`` backend: Timeloop/Accelergy input files, and a run of ``timeloop-mapper`` where it exists.

Timeloop is not installable from the package registries this project uses, so the backend always
*writes* the specification (v0.3 YAML, which needs no custom tags) and runs the mapper only when
``timeloop-mapper`` is on PATH; otherwise it raises :class:`TimeloopUnavailable` naming the directory
it wrote. Files per accelerator and layer:

* ``arch.yaml``: DRAM → global buffer → PE[rows×cols] (register file, optional local input buffer)
  → MAC lanes; sizes, word widths, bandwidths from the ``AccelConfig``; per-access energies from
  the same technology table as the analytical model (``ERT.yaml``, Accelergy's energy-reference form).
* ``constraints.yaml``: the dataflow as spatial factor/permutation constraints (same hints as the
  analytical and zigzag backends).
* ``layers/<index>_<name>.yaml``: one Timeloop problem per conv/fc layer (grouped convolution shape
  with G, so depthwise layers are exact).
* ``mapper.yaml``: a bounded linear-pruned search.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from codesign.accel import AccelConfig
from codesign.errors import CodesignError
from codesign.layer import MAC_OPS, Layer
from codesign.yaml_io import dump_yaml

from .hardware_arrays import RF_SPLIT, check_mappable, gb_bw_bytes_per_cycle, psum_bits
from .mac_layer_backend import evaluate_mac_layers
from .registry import register_backend
from .report import ENERGY_COMPONENTS, HardwareReport
from .tech import load_tech

#: Timeloop dimension names for our hints (M = output channels, P/Q = output rows/cols)
TIMELOOP_SPATIAL = {
    "weight_stationary": {"Y": "C", "X": "M", "lanes": "M"},
    "output_stationary": {"Y": "P", "X": "Q", "lanes": "M"},
    "row_stationary": {"Y": "R", "X": "P", "lanes": "M"},
    "weight_stationary_flex": {"Y": "C", "X": "M", "lanes": "M"},  # the spec offers channels only, no taps
}
DIMS = ["G", "C", "M", "R", "S", "N", "P", "Q"]


class TimeloopUnavailable(CodesignError):
    """``timeloop-mapper`` is not on PATH: the specification was written but not run."""


def problem_yaml(layer: Layer) -> dict[str, Any]:
    """A Timeloop problem for one conv/fc layer (grouped-convolution shape; fc = 1×1 conv)."""
    if layer.op not in MAC_OPS:
        raise CodesignError(f"layer `{layer.name}` ({layer.op}) is not a conv/fc layer")
    return {"problem": {
        "shape": {
            "name": "grouped-conv",
            "dimensions": DIMS,
            "coefficients": [{"name": "Wstride", "default": 1}, {"name": "Hstride", "default": 1},
                             {"name": "Wdilation", "default": 1}, {"name": "Hdilation", "default": 1}],
            "data-spaces": [
                {"name": "Weights", "projection": [[["G"]], [["C"]], [["M"]], [["R"]], [["S"]]]},
                {"name": "Inputs", "projection": [[["N"]], [["G"]], [["C"]],
                                                  [["R", "Hdilation"], ["P", "Hstride"]],
                                                  [["S", "Wdilation"], ["Q", "Wstride"]]]},
                {"name": "Outputs", "projection": [[["N"]], [["G"]], [["M"]], [["P"]], [["Q"]]],
                 "read-write": True},
            ],
        },
        "instance": {"G": layer.groups, "C": layer.c // layer.groups, "M": layer.k // layer.groups,
                     "R": layer.r, "S": layer.s, "N": layer.n, "P": layer.p, "Q": layer.q,
                     "Hstride": layer.stride_h, "Wstride": layer.stride_w,
                     "Hdilation": layer.dilation_h, "Wdilation": layer.dilation_w},
    }}


def _buffer(name: str, size_bytes: int, word_bits: int, bw_words: float | None = None) -> dict[str, Any]:
    attrs: dict[str, Any] = {"depth": max(1, int(size_bytes * 8 // word_bits)), "width": word_bits,
                             "word-bits": word_bits, "block-size": 1}
    if bw_words is not None:
        attrs.update({"read_bandwidth": bw_words, "write_bandwidth": bw_words})
    return {"name": name, "class": "regfile" if name.startswith("RF") else "SRAM", "attributes": attrs}


def arch_yaml(accel: AccelConfig) -> dict[str, Any]:
    """Timeloop v0.3 architecture: DRAM → GlobalBuffer → PE[rows×cols] → MAC[lanes]."""
    check_mappable(accel)
    bits = accel.precision_bits
    n_pe = accel.num_pes
    pe_local = [_buffer(f"RF_{op}[0..{n_pe - 1}]", int(accel.rf_bytes_per_pe * share),
                        psum_bits(bits) if op == "O" else bits)
                for op, share in RF_SPLIT.items()]
    if accel.local_buffer_bytes_per_pe:
        pe_local.insert(0, _buffer(f"LocalBuffer[0..{n_pe - 1}]", accel.local_buffer_bytes_per_pe, bits))
    pe_local.append({"name": f"MAC[0..{n_pe * accel.macs_per_pe - 1}]", "class": "intmac",
                     "attributes": {"datawidth": bits}})
    gb_words = gb_bw_bytes_per_cycle(accel) * 8 / bits
    return {"architecture": {"version": 0.3, "subtree": [{
        "name": "system",
        "local": [{"name": "DRAM", "class": "DRAM",
                   "attributes": {"type": "LPDDR4", "width": 64, "word-bits": bits,
                                  "read_bandwidth": accel.dram_bw_bytes_per_cycle * 8 / bits,
                                  "write_bandwidth": accel.dram_bw_bytes_per_cycle * 8 / bits}}],
        "subtree": [{
            "name": "accelerator",
            "attributes": {"technology": accel.tech, "clock_mhz": accel.clock_mhz},
            "local": [_buffer("GlobalBuffer", accel.global_buffer_bytes, bits, gb_words)],
            "subtree": [{"name": f"PE[0..{n_pe - 1}]", "local": pe_local}],
        }],
    }]}}


def ert_yaml(accel: AccelConfig) -> dict[str, Any]:
    """Energy reference table (pJ per access of one word) from the technology table."""
    tech = load_tech(accel.tech)
    bits = accel.precision_bits
    word_b = bits / 8

    def sram(name: str, size: float, word_bytes: float) -> dict[str, Any]:
        e = float(tech.sram_read_pj_per_byte(size)) * word_bytes
        return {"name": name, "actions": [{"name": "read", "energy": e},
                                          {"name": "write", "energy": e * tech.sram_write_factor}]}

    tables = [{"name": "DRAM", "actions": [{"name": "read", "energy": tech.dram_energy_pj_per_byte * word_b},
                                           {"name": "write", "energy": tech.dram_energy_pj_per_byte * word_b}]},
              sram("GlobalBuffer", accel.global_buffer_bytes, word_b)]
    if accel.local_buffer_bytes_per_pe:
        tables.append(sram("LocalBuffer", accel.local_buffer_bytes_per_pe, word_b))
    for op, share in RF_SPLIT.items():
        tables.append(sram(f"RF_{op}", accel.rf_bytes_per_pe * share,
                           psum_bits(bits) / 8 if op == "O" else word_b))
    tables.append({"name": "MAC", "actions": [{"name": "compute", "energy": float(tech.mac_energy_pj(bits))}]})
    return {"ERT": {"version": 0.3, "tables": tables}}


def constraints_yaml(accel: AccelConfig) -> dict[str, Any]:
    """The dataflow as Timeloop mapspace constraints: which dimensions unroll across the PE array."""
    sp = TIMELOOP_SPATIAL[accel.dataflow]
    others = [d for d in DIMS if d not in (sp["X"], sp["Y"])]
    keep = {"I2": "Weights", "I1": "Inputs", "O": "Outputs"}  # RF_SPLIT's operand names
    targets: list[dict[str, Any]] = [
        {"target": "GlobalBuffer", "type": "spatial", "permutation": sp["X"] + sp["Y"] + "".join(others),
         "factors": " ".join(f"{d}=1" for d in others), "split": 1},
    ]
    targets += [{"target": f"RF_{op}", "type": "bypass", "keep": [ds],
                 "bypass": [x for x in keep.values() if x != ds]} for op, ds in keep.items()]
    if accel.local_buffer_bytes_per_pe:
        targets.append({"target": "LocalBuffer", "type": "bypass", "keep": ["Inputs"],
                        "bypass": ["Weights", "Outputs"]})
    return {"mapspace_constraints": {"targets": targets}}


def mapper_yaml() -> dict[str, Any]:
    return {"mapper": {"optimization-metrics": ["delay", "energy"], "live-status": False, "num-threads": 2,
                       "algorithm": "linear-pruned", "victory-condition": 500, "timeout": 5000,
                       "max-permutations-per-if-visit": 16}}


def write_spec(workload: list[Layer], accel: AccelConfig, out_dir: str | Path) -> list[Path]:
    """Write the Timeloop/Accelergy specification; returns the problem files, one per conv/fc layer."""
    out = Path(out_dir)
    (out / "layers").mkdir(parents=True, exist_ok=True)
    (out / "arch.yaml").write_text(dump_yaml(arch_yaml(accel)))
    (out / "ERT.yaml").write_text(dump_yaml(ert_yaml(accel)))
    (out / "constraints.yaml").write_text(dump_yaml(constraints_yaml(accel)))
    (out / "mapper.yaml").write_text(dump_yaml(mapper_yaml()))
    problems = []
    for i, layer in enumerate(workload):
        if layer.op in MAC_OPS:
            safe = re.sub(r"[^A-Za-z0-9_.-]", "_", layer.name or "layer")
            path = out / "layers" / f"{i:03d}_{safe}.yaml"
            path.write_text(dump_yaml(problem_yaml(layer)))
            problems.append(path)
    return problems


_STAT_RE = {"cycles": re.compile(r"^\s*Cycles:\s*([0-9.eE+]+)", re.M),
            "energy_uj": re.compile(r"^\s*Energy:\s*([0-9.eE+]+)\s*uJ", re.M)}


def parse_stats(text: str, source: str) -> tuple[float, float]:
    """(cycles, energy in pJ) from a ``timeloop-mapper.stats.txt`` summary."""
    found = {k: r.findall(text) for k, r in _STAT_RE.items()}
    if not found["cycles"] or not found["energy_uj"]:
        raise CodesignError(f"{source}: no `Cycles:` / `Energy: … uJ` summary in Timeloop's statistics")
    return float(found["cycles"][-1]), float(found["energy_uj"][-1]) * 1e6


def evaluate_timeloop(workload: list[Layer], accel: AccelConfig, out_dir: str | Path | None = None) -> HardwareReport:
    """Write the specification, then run ``timeloop-mapper`` on every conv/fc layer (other layers:
    the analytical vector model). Raises :class:`TimeloopUnavailable` when the mapper is not on PATH."""
    out = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix="codesign-timeloop-"))
    problems = {int(p.name[:3]): p for p in write_spec(workload, accel, out)}
    exe = shutil.which("timeloop-mapper")
    if exe is None:
        raise TimeloopUnavailable(f"timeloop-mapper is not on PATH: the Timeloop/Accelergy specification was written "
                                  f"to {out} ({len(problems)} layer problems) but not run")
    index = {id(l): i for i, l in enumerate(workload)}

    def cost_of(layer: Layer) -> tuple[float, dict[str, float], float]:
        problem = problems[index[id(layer)]]
        run_dir = out / "runs" / problem.stem
        run_dir.mkdir(parents=True, exist_ok=True)
        cmd = [exe, str(out / "arch.yaml"), str(out / "ERT.yaml"), str(out / "constraints.yaml"),
               str(out / "mapper.yaml"), str(problem)]
        proc = subprocess.run(cmd, cwd=run_dir, capture_output=True, text=True, timeout=3600)
        stats = run_dir / "timeloop-mapper.stats.txt"
        if proc.returncode != 0 or not stats.exists():
            raise CodesignError(f"timeloop-mapper failed on layer `{layer.name}` (exit {proc.returncode}): "
                                f"{(proc.stderr or proc.stdout).strip()[-500:]}")
        cycles, energy_pj = parse_stats(stats.read_text(), str(stats))
        energy = {c: 0.0 for c in ENERGY_COMPONENTS}
        energy["total"] = energy_pj  # Timeloop's summary does not split energy the way our report does
        return cycles, energy, layer.macs / max(cycles * accel.peak_macs_per_cycle, 1.0)

    return evaluate_mac_layers(workload, accel, "timeloop", cost_of, [f"Timeloop specification in {out}"])


@register_backend("timeloop")
def _factory():
    return evaluate_timeloop
