"""The ``zigzag`` backend: an adapter to the zigzag-dse analytical cost model (KU Leuven MICAS).

From an ``AccelConfig`` it writes ZigZag's accelerator YAML (PE array as operational array
D1×D2×D3 = rows × cols × MAC lanes; memories innermost first: register file per PE, optional local
buffer per PE, global buffer, DRAM; energies from the same technology table as the analytical
model) and a mapping YAML whose spatial-mapping hints encode the dataflow. Each conv/fc layer is
evaluated as its own one-layer workload — ZigZag sums layers without inter-layer locality by
default, so this is exact — and cached on disk, keyed by (layer string, accelerator string,
settings). Elementwise, pooling and data-movement layers are outside what this adapter maps; they
are costed by the analytical vector-unit model and marked ``source: analytical`` in the report.

Settings chosen for speed (see ``ZIGZAG_SETTINGS``): LOMA temporal mapping with ``lpf_limit=4``
(same result as the default 6 at ~6× less time on our tests), 3 spatial mappings per layer, no
progress bars, no files written, ZigZag's logging silenced. One ZigZag bug is worked around
(:func:`_reduce_ordered`).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from codesign.accel import AccelConfig
from codesign.errors import CodesignError
from codesign.json_io import write_json_atomic
from codesign.layer import MAC_OPS, Layer
from codesign.yaml_io import dump_yaml

from .dataflows import SPATIAL_DIMS, zigzag_hint
from .hardware_arrays import RF_SPLIT, check_mappable, gb_bw_bytes_per_cycle, psum_bits
from .mac_layer_backend import evaluate_mac_layers
from .registry import register_backend
from .report import ENERGY_COMPONENTS, HardwareReport
from .tech import load_tech

ZIGZAG_SETTINGS = {"lpf_limit": 4, "nb_spatial_mappings_generated": 3, "opt": "latency", "version": 4}
SPATIAL_HINTS = {df: zigzag_hint(df) for df in SPATIAL_DIMS}
MEMORY_COMPONENT = {"rf_I2": "rf", "rf_I1": "rf", "rf_O": "rf", "local_buffer": "local_buffer", "global_buffer": "global_buffer", "dram": "dram"}


class ZigzagError(CodesignError):
    """ZigZag could not map or evaluate a layer on an accelerator."""


def default_cache_dir() -> Path:
    return Path(os.environ.get("CODESIGN_CACHE", Path.home() / ".cache" / "codesign")) / "zigzag"


# ---- accelerator and mapping YAML ----------------------------------------------------------
def _port(name: str, kind: str, bw_bits: int, allocation: list[str]) -> dict[str, Any]:
    return {"name": name, "type": kind, "bandwidth_min": bw_bits, "bandwidth_max": bw_bits, "allocation": allocation}


def _memory(size_bytes: float, bw_bits: int, e_byte: float, write_factor: float, operands: list[str],
            served: list[str], area_mm2: float, split_ports: bool) -> dict[str, Any]:
    reads = [f"{o}, {d}" for o in operands for d in (("tl", "th") if o == "O" else ("tl",))]
    writes = [f"{o}, {d}" for o in operands for d in (("fh", "fl") if o == "O" else ("fh",))]
    if split_ports:
        ports = [_port("r_port_1", "read", bw_bits, reads), _port("w_port_1", "write", bw_bits, writes)]
    else:
        ports = [_port("rw_port_1", "read_write", bw_bits, reads + writes)]
    r_cost = e_byte * bw_bits / 8  # ZigZag charges per access of one port-width word
    return {"size": int(size_bytes * 8), "r_cost": float(r_cost), "w_cost": float(r_cost * write_factor),
            "area": float(area_mm2), "latency": 1, "operands": operands, "ports": ports, "served_dimensions": served}


def accelerator_yaml(accel: AccelConfig) -> dict[str, Any]:
    """ZigZag's accelerator description of ``accel`` (memories innermost first, sizes in bits).

    The per-PE register file is split like Eyeriss's scratchpads: half for weights, a quarter each
    for inputs and partial sums (``RF_SPLIT``), each with a port one word per MAC lane wide. The
    optional per-PE local buffer holds inputs (like Simba's per-PE input buffer). It holds no
    weights: ZigZag's mapper assumes an inclusive hierarchy and fails whenever a layer's weights
    exceed the global buffer while the local buffers would hold them (measured: 3 of 40 random
    layers), so weights stream from the global buffer into the register file.
    """
    check_mappable(accel)
    tech = load_tech(accel.tech)
    bits, lanes = accel.precision_bits, accel.macs_per_pe
    wf = tech.sram_write_factor
    mems: dict[str, Any] = {}
    for op, share in RF_SPLIT.items():
        size = accel.rf_bytes_per_pe * share
        width = lanes * (psum_bits(bits) if op == "O" else bits)
        mems[f"rf_{op}"] = _memory(size, width, float(tech.sram_read_pj_per_byte(size)), wf, [op], ["D3"],
                                   size / 1024 * tech.rf_area_mm2_per_kib, split_ports=True)
    ops = ["I1", "I2", "O"]
    if accel.local_buffer_bytes_per_pe:
        lb = accel.local_buffer_bytes_per_pe
        mems["local_buffer"] = _memory(lb, lanes * bits, float(tech.sram_read_pj_per_byte(lb)), wf, ["I1"],
                                       ["D3"], lb / 1024 * tech.sram_area_mm2_per_kib, split_ports=True)
    gb = accel.global_buffer_bytes
    mems["global_buffer"] = _memory(gb, max(8, int(round(gb_bw_bytes_per_cycle(accel) * 8))),
                                    float(tech.sram_read_pj_per_byte(gb)), wf, ops, ["D1", "D2", "D3"],
                                    gb / 1024 * tech.sram_area_mm2_per_kib, split_ports=False)
    mems["dram"] = _memory(1 << 40, max(1, int(round(accel.dram_bw_bytes_per_cycle * 8))),
                           tech.dram_energy_pj_per_byte, 1.0, ops, ["D1", "D2", "D3"], 0.0, split_ports=False)
    return {"name": f"codesign_{accel.dataflow}", "memories": mems,
            "operational_array": {"unit_energy": float(tech.mac_energy_pj(bits)),
                                  "unit_area": float(tech.mac_area_mm2(bits)), "dimensions": ["D1", "D2", "D3"],
                                  "sizes": [accel.pe_rows, accel.pe_cols, accel.macs_per_pe]}}


def mapping_yaml(accel: AccelConfig) -> list[dict[str, Any]]:
    return [{"name": "default", "spatial_mapping_hint": SPATIAL_HINTS[accel.dataflow],
             "memory_operand_links": {"O": "O", "W": "I2", "I": "I1"}}]


def layer_workload(layer: Layer, precision_bits: int) -> list[dict[str, Any]]:
    """One conv/fc layer in ZigZag's workload format (fc = 1×1 conv on a 1×1 image)."""
    if layer.op not in MAC_OPS:
        raise ZigzagError(f"layer `{layer.name}` ({layer.op}) is not a conv/fc layer")
    pad_h, pad_w = layer.pad_h, layer.pad_w
    return [{
        "id": 0, "name": layer.name or "layer", "operator_type": "Conv",
        "equation": "O[b][g][k][oy][ox]+=W[g][k][c][fy][fx]*I[b][g][c][iy][ix]",
        "dimension_relations": [f"ix={layer.stride_w}*ox+{layer.dilation_w}*fx",
                                f"iy={layer.stride_h}*oy+{layer.dilation_h}*fy"],
        "loop_dims": ["B", "K", "G", "OX", "OY", "C", "FX", "FY"],
        "loop_sizes": [layer.n, layer.k // layer.groups, layer.groups, layer.q, layer.p, layer.c // layer.groups,
                       layer.s, layer.r],
        "operand_precision": {"W": precision_bits, "I": precision_bits, "O": psum_bits(precision_bits),
                              "O_final": precision_bits},
        "pr_loop_dims": ["IX", "IY"],  # padding only: ZigZag derives the input size (its pr sizes are off by one)
        "padding": [[pad_w // 2, pad_w - pad_w // 2], [pad_h // 2, pad_h - pad_h // 2]],
    }]


def network_workload(workload: list[Layer], precision_bits: int) -> list[dict[str, Any]]:
    """Every conv/fc layer of ``workload`` in one ZigZag workload file (ids in network order).

    The layers carry no ``operand_source`` links, so ZigZag evaluates each on its own and sums them:
    the same totals this backend computes layer by layer (no inter-layer locality).
    """
    items = []
    for layer in (lay for lay in workload if lay.op in MAC_OPS):
        item = layer_workload(layer, precision_bits)[0]
        item["id"] = len(items)
        items.append(item)
    return items


# ---- running ZigZag ------------------------------------------------------------------------
def _reduce_ordered(c_list: list[float], m_list: list[float], s: float) -> tuple[list[float], list[float]]:
    """ZigZag 3.9.1's ``CostModelEvaluation.reduce_ordered`` without its final assertion.

    The original asserts ``c >= m`` for every entry, including entries it never reduced; tiny layers
    (a squeeze-excite 1×1 conv on a 1×1 image) enter with ``c < m`` and crash the evaluation. The
    greedy reduction itself is unchanged: largest first, each down to its floor, up to ``s`` in total.
    """
    if s <= 0 or not c_list:
        return c_list, [0.0] * len(c_list)
    c_result = list(c_list)
    reductions = [0.0] * len(c_list)
    for i in sorted(range(len(c_list)), key=lambda j: c_list[j], reverse=True):
        if s <= 0:
            break
        cut = min(max(0.0, c_result[i] - m_list[i]), s)
        c_result[i] -= cut
        reductions[i] += cut
        s -= cut
    return c_result, reductions


def prepare_zigzag() -> None:
    """Silence ZigZag's logging and apply the :func:`_reduce_ordered` fix (idempotent)."""
    root = logging.getLogger()
    if not root.handlers:  # ZigZag calls logging.basicConfig(INFO); a handler makes that a no-op
        root.addHandler(logging.NullHandler())
    logging.getLogger("zigzag").setLevel(logging.ERROR)
    from zigzag.cost_model.cost_model import CostModelEvaluation

    CostModelEvaluation.reduce_ordered = staticmethod(_reduce_ordered)


def run_zigzag_layer(layer: Layer, accel: AccelConfig, workdir: Path) -> dict[str, Any]:
    """Evaluate one layer with ZigZag's mapping search; returns cycles, energy per component (pJ), utilization."""
    prepare_zigzag()
    from zigzag.mapping.temporal_mapping import TemporalMappingType
    from zigzag.stages.evaluation.cost_model_evaluation import CostModelStage
    from zigzag.stages.main import MainStage
    from zigzag.stages.mapping.spatial_mapping_generation import SpatialMappingGeneratorStage
    from zigzag.stages.mapping.temporal_mapping_generator_stage import TemporalMappingGeneratorStage
    from zigzag.stages.parser.accelerator_parser import AcceleratorParserStage
    from zigzag.stages.parser.workload_parser import WorkloadParserStage
    from zigzag.stages.results.reduce_stages import MinimalLatencyStage
    from zigzag.stages.workload_iterator import WorkloadStage

    acc_path, map_path = workdir / f"{accel.key}.yaml", workdir / f"{accel.key}.mapping.yaml"
    acc_path.write_text(dump_yaml(accelerator_yaml(accel)))  # dump_yaml keeps key order: innermost first
    map_path.write_text(dump_yaml(mapping_yaml(accel)))
    stages = [WorkloadParserStage, AcceleratorParserStage, WorkloadStage, MinimalLatencyStage,
              SpatialMappingGeneratorStage, MinimalLatencyStage, TemporalMappingGeneratorStage, CostModelStage]
    main = MainStage(stages, accelerator=str(acc_path), workload=layer_workload(layer, accel.precision_bits),
                     mapping=str(map_path), loma_lpf_limit=ZIGZAG_SETTINGS["lpf_limit"],
                     loma_show_progress_bar=False,
                     nb_mappings_generated=ZIGZAG_SETTINGS["nb_spatial_mappings_generated"],
                     enable_mix_spatial_mapping_generation=False, access_same_data_considered_as_no_access=True,
                     temporal_mapping_type=TemporalMappingType("uneven"))
    try:
        cmes = main.run()
    except Exception as exc:  # noqa: BLE001 - ZigZag raises bare exceptions for unmappable layers
        raise ZigzagError(f"ZigZag could not map layer `{layer.name}` ({layer.key}) on {accel.key}: "
                          f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None
    cme = cmes[0][0]
    energy = {c: 0.0 for c in ENERGY_COMPONENTS}
    energy["mac"] = float(cme.mac_energy)
    hierarchy = cme.accelerator.memory_hierarchy
    for layer_op, per_level in cme.mem_energy_breakdown.items():
        mem_op = cme.layer.memory_operand_links.layer_to_mem_op(layer_op)
        for level, e in zip(hierarchy.get_memory_levels(mem_op), per_level):
            energy[MEMORY_COMPONENT[level.name]] += float(e)
    return {"cycles": float(cme.latency_total2), "energy_pj": energy,
            "utilization": float(cme.layer.total_mac_count) / max(float(cme.latency_total2) * accel.peak_macs_per_cycle, 1.0)}


class ZigzagCache:
    """JSON files on disk keyed by a hash of (layer string, accelerator string, settings, the dataflow's
    spatial hints, the register-file split)."""

    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root else default_cache_dir()

    def _path(self, layer: Layer, accel: AccelConfig) -> Path:
        key = json.dumps([layer.key, accel.key, ZIGZAG_SETTINGS, SPATIAL_HINTS[accel.dataflow], RF_SPLIT],
                         sort_keys=True)
        return self.root / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.json"

    def get(self, layer: Layer, accel: AccelConfig) -> dict[str, Any] | None:
        path = self._path(layer, accel)
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return None

    def put(self, layer: Layer, accel: AccelConfig, result: dict[str, Any]) -> None:
        write_json_atomic(self._path(layer, accel), result)


def evaluate_zigzag(workload: list[Layer], accel: AccelConfig, cache: ZigzagCache | None = None) -> HardwareReport:
    cache = cache or ZigzagCache()
    with tempfile.TemporaryDirectory(prefix="codesign-zigzag-") as tmp:
        def cost_of(layer: Layer) -> tuple[float, dict[str, float], float]:
            res = cache.get(layer, accel)
            if res is None:
                res = run_zigzag_layer(layer, accel, Path(tmp))
                cache.put(layer, accel, res)
            return res["cycles"], res["energy_pj"], res["utilization"]

        return evaluate_mac_layers(workload, accel, "zigzag", cost_of)


@register_backend("zigzag")
def _factory():
    try:
        import zigzag  # noqa: F401
    except ImportError as exc:
        raise CodesignError("the zigzag backend needs zigzag-dse: pip install 'codesign[zigzag]'") from exc
    return evaluate_zigzag
