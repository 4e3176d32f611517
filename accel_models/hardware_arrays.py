"""Accelerators and workloads as numpy arrays: the input of the vectorised analytical model.

``AccelArrays`` holds one row per accelerator (its derived bandwidths and per-access energies from
its technology table); ``LayerArrays`` one row per layer. Both are built once and reused.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codesign.accel import DATAFLOWS, EFFICIENCY_KINDS, VECTOR_OPS, AccelConfig
from codesign.errors import Problem, ValidationError
from codesign.layer import MAC_OPS, Layer

from .tech import load_tech

DATAFLOW_ID = {name: i for i, name in enumerate(DATAFLOWS)}


#: register-file share per operand (ZigZag names: I2 weights, I1 inputs, O partial sums), as in Eyeriss
RF_SPLIT = {"I2": 0.5, "I1": 0.25, "O": 0.25}


def psum_bits(precision_bits: int) -> int:
    """Partial-sum width: 2×precision + 8 guard bits (24 bits for int8, 40 for int16)."""
    return 2 * precision_bits + 8


def gb_bw_bytes_per_cycle(accel: AccelConfig) -> float:
    """Global-buffer ↔ array bandwidth: one word per lane along each edge of the array (bytes/cycle)."""
    return float((accel.pe_rows + accel.pe_cols) * accel.macs_per_pe * accel.precision_bits / 8)


def min_rf_bytes(accel: AccelConfig) -> float:
    """Smallest register file (bytes/PE) that holds one weight, input and partial sum per MAC lane in
    its share (``RF_SPLIT``)."""
    lanes, bits = accel.macs_per_pe, accel.precision_bits
    return max(lanes * bits / 8 / RF_SPLIT["I2"], lanes * bits / 8 / RF_SPLIT["I1"],
               lanes * psum_bits(bits) / 8 / RF_SPLIT["O"])


def check_mappable(accel: AccelConfig) -> None:
    """The register file must hold the smallest tile, else no mapping exists."""
    need = min_rf_bytes(accel)
    if accel.rf_bytes_per_pe < need:
        raise ValidationError(Problem(
            f"accelerator {accel.key}:rf_bytes_per_pe",
            f"`rf_bytes_per_pe` = {accel.rf_bytes_per_pe} B cannot hold the smallest tile: {accel.macs_per_pe} "
            f"MAC lanes need a weight, an input and a {psum_bits(accel.precision_bits)}-bit partial sum each in "
            f"their register-file shares, i.e. at least {need:g} B"))


@dataclass
class AccelArrays:
    rows: np.ndarray
    cols: np.ndarray
    lanes: np.ndarray
    rf_bytes: np.ndarray
    lb_bytes: np.ndarray
    gb_bytes: np.ndarray
    dram_bw: np.ndarray  # bytes/cycle
    gb_bw: np.ndarray  # bytes/cycle
    prec_b: np.ndarray  # bytes per weight/activation
    psum_b: np.ndarray  # bytes per partial sum
    clock_mhz: np.ndarray
    dataflow: np.ndarray  # DATAFLOW_ID
    e_mac: np.ndarray  # pJ per MAC
    e_alu: np.ndarray  # pJ per vector op
    e_rf_w: np.ndarray  # pJ per byte read from the register file's weight share
    e_rf_i: np.ndarray  # ... input share
    e_rf_o: np.ndarray  # ... partial-sum share
    e_lb: np.ndarray
    e_gb: np.ndarray
    e_dram: np.ndarray
    write_factor: np.ndarray
    area_mm2: np.ndarray
    efficiency: np.ndarray  # (A, 5) compute efficiency per op kind (EFFICIENCY_KINDS order)
    dram_eff: np.ndarray  # fraction of peak DRAM bandwidth sustained
    gb_eff: np.ndarray  # fraction of peak global-buffer bandwidth sustained
    overhead_cycles: np.ndarray  # fixed cycles per layer (calibrated)
    calibrated: np.ndarray  # bool: any calibration term differs from the uncalibrated model
    vec_lanes: np.ndarray  # vector-unit elements per cycle
    vec_cycles: np.ndarray  # (A, len(VECTOR_OPS)) cycles per element of each primitive op
    out_stage: np.ndarray  # vector cycles per output element of a MAC layer (``OUTPUT_STAGE_OPS``)
    sequential: np.ndarray  # bool: compute, memory and vector cycles add (not pipelined)
    layer_overhead: np.ndarray  # fixed cycles per (unfused) layer, from the specification
    weight_cache: np.ndarray  # bytes of on-chip weight cache (resident across inferences)
    fuse: np.ndarray  # bool: element-wise layers fuse into their producer
    act_on_chip: np.ndarray  # bool: activations that fit stay in the global buffer

    def take(self, idx: np.ndarray) -> AccelArrays:
        """Rows ``idx``. The calibration and execution columns are copied only when they differ
        between accelerators; otherwise one row of them broadcasts (the cost model reads calibration
        columns only when some accelerator is calibrated, and copying them per layer row costs ~20%
        of its throughput)."""
        return AccelArrays(**{k: v[:1] if k in _SHARED_COLUMNS and _uniform(v) else v[idx]
                              for k, v in self.__dict__.items()})


#: columns that usually hold one value for every accelerator of a batch
_SHARED_COLUMNS = ("efficiency", "dram_eff", "gb_eff", "overhead_cycles", "calibrated", "vec_cycles", "sequential",
                   "layer_overhead", "weight_cache", "fuse", "act_on_chip")


def _uniform(v: np.ndarray) -> bool:
    return len(v) <= 1 or bool((v == v[:1]).all())


def accel_arrays(accels: list[AccelConfig]) -> AccelArrays:
    """Validate that every accelerator is mappable and tabulate its derived figures."""
    cols: dict[str, list[float]] = {k: [] for k in AccelArrays.__dataclass_fields__}
    for a in accels:
        check_mappable(a)
        tech = load_tech(a.tech)
        bits = a.precision_bits
        rf_area = a.num_pes * a.rf_bytes_per_pe / 1024 * tech.rf_area_mm2_per_kib
        sram_area = (a.num_pes * a.local_buffer_bytes_per_pe + a.global_buffer_bytes + a.weight_cache_bytes) \
            / 1024 * tech.sram_area_mm2_per_kib
        pe_area = a.num_pes * (a.macs_per_pe * float(tech.mac_area_mm2(bits)) + tech.pe_overhead_area_mm2)
        row = dict(
            rows=a.pe_rows, cols=a.pe_cols, lanes=a.macs_per_pe, rf_bytes=a.rf_bytes_per_pe,
            lb_bytes=a.local_buffer_bytes_per_pe, gb_bytes=a.global_buffer_bytes, dram_bw=a.dram_bw_bytes_per_cycle,
            gb_bw=gb_bw_bytes_per_cycle(a), prec_b=bits / 8, psum_b=psum_bits(bits) / 8, clock_mhz=a.clock_mhz,
            dataflow=DATAFLOW_ID[a.dataflow], e_mac=float(tech.mac_energy_pj(bits)),
            e_alu=float(tech.alu_energy_pj(bits)),
            **{f"e_rf_{o}": float(tech.sram_read_pj_per_byte(a.rf_bytes_per_pe * RF_SPLIT[share]))
               for o, share in (("w", "I2"), ("i", "I1"), ("o", "O"))},
            e_lb=float(tech.sram_read_pj_per_byte(max(a.local_buffer_bytes_per_pe, 1))),
            e_gb=float(tech.sram_read_pj_per_byte(a.global_buffer_bytes)), e_dram=tech.dram_energy_pj_per_byte,
            write_factor=tech.sram_write_factor, area_mm2=pe_area + rf_area + sram_area,
            efficiency=[getattr(a.calibration, f"efficiency_{k}") for k in EFFICIENCY_KINDS],
            dram_eff=a.calibration.dram_bw_efficiency, gb_eff=a.calibration.gb_bw_efficiency,
            overhead_cycles=a.calibration.layer_overhead_cycles, calibrated=not a.calibration.is_ideal,
            vec_lanes=a.vector_unit.lanes or a.pe_cols * a.macs_per_pe, vec_cycles=a.vector_unit.cycles(),
            out_stage=sum(getattr(a.vector_unit, op) for op in output_stage_ops(a.precision_bits)),
            sequential=not a.pipelined, layer_overhead=a.layer_overhead_cycles, weight_cache=a.weight_cache_bytes, fuse=a.fuse_elementwise,
            act_on_chip=a.activations_on_chip,
        )
        for k, v in row.items():
            cols[k].append(v)
    types = {"dataflow": np.int64, "calibrated": bool, "fuse": bool, "act_on_chip": bool, "sequential": bool}
    return AccelArrays(**{k: np.asarray(v, dtype=types.get(k, float)) for k, v in cols.items()})


@dataclass
class LayerArrays:
    """Per layer: dims (N, K/g, C/g, G, P, Q, R, S), input size, strides, whether it is a MAC layer."""

    dims: np.ndarray  # (L, 8) float
    h_in: np.ndarray
    w_in: np.ndarray
    stride_h: np.ndarray
    stride_w: np.ndarray
    is_mac: np.ndarray  # bool
    kind: np.ndarray  # index into EFFICIENCY_KINDS (conv, depthwise, pointwise, fc, vector)
    in_elems: np.ndarray  # activation elements read (all operands)
    out_elems: np.ndarray
    macs: np.ndarray
    vec_code: np.ndarray  # index into ``OP_COUNTS``: the primitive vector ops per element of this layer
    vec_elems: np.ndarray  # elements the vector unit processes (outputs; pooling: inputs)
    fusable: np.ndarray  # bool: an element-wise layer right after a MAC layer (its producer)
    first: np.ndarray  # bool: the workload's first layer (its input arrives from DRAM)
    weight_cum: np.ndarray  # weight elements of this layer and all before it in its workload

    def take(self, idx: np.ndarray) -> LayerArrays:
        return LayerArrays(**{k: v[idx] for k, v in self.__dict__.items()})

    def __len__(self) -> int:
        return len(self.macs)


_KIND = {op: EFFICIENCY_KINDS.index(op) for op in MAC_OPS}
_VECTOR = EFFICIENCY_KINDS.index("vector")

#: the primitive vector ops (``VECTOR_OPS``) each function runs per element: activations fused into
#: MAC layers and element-wise layers' functions; an element-wise function not listed costs one ``add``
FN_OPS: dict[str, tuple[str, ...]] = {
    "none": (), "linear": (), "identity": (), "relu": ("relu",), "relu6": ("relu",),
    "hswish": ("add", "relu", "mul", "mul"), "hsigmoid": ("add", "relu", "mul"), "sigmoid": ("sigmoid",),
    "swish": ("sigmoid", "mul"), "silu": ("sigmoid", "mul"), "tanh": ("sigmoid", "mul", "add"),
    "add": ("add",), "sub": ("add",), "addrelu": ("add", "relu"), "mul": ("mul",), "div": ("mul",),
}


#: the output stage every MAC layer's outputs pass: integer outputs are rescaled (multiply), offset
#: (add) and saturated (clamp); float outputs get their bias added
OUTPUT_STAGE_OPS = {"int": ("mul", "add", "relu"), "float": ("add",)}


def output_stage_ops(precision_bits: int) -> tuple[str, ...]:
    return OUTPUT_STAGE_OPS["float" if precision_bits >= 32 else "int"]


def _op_sequence(layer: Layer) -> tuple[str, ...]:
    if layer.op == "pool":
        return ("pool",)
    if layer.op == "data_movement":
        return ("move",)
    return FN_OPS.get(layer.fn, ("add",))


#: the distinct op sequences as rows of counts per ``VECTOR_OPS`` (row 0: no vector work)
_SEQUENCES: list[tuple[str, ...]] = list(dict.fromkeys([(), ("pool",), ("move",), *FN_OPS.values()]))
OP_COUNTS = np.array([[seq.count(op) for op in VECTOR_OPS] for seq in _SEQUENCES], dtype=float)
_SEQUENCE_CODE = {seq: i for i, seq in enumerate(_SEQUENCES)}


def layer_arrays(layers: list[Layer]) -> LayerArrays:
    """One workload (a network, in execution order) as arrays."""
    raw = np.array([(l.n, l.k // l.groups, l.c // l.groups, l.groups, l.p, l.q, l.r, l.s, l.h_in, l.w_in,
                     l.stride_h, l.stride_w, l.op in MAC_OPS, l.input_elems, l.output_elems, l.macs,
                     _KIND.get(l.op, _VECTOR), l.weight_elems,
                     l.input_elems if l.op == "pool" else l.output_elems) for l in layers],
                   dtype=float).reshape(-1, 19)
    is_mac = raw[:, 12] > 0
    elementwise = np.array([l.op == "elementwise" for l in layers], dtype=bool)
    fusable = elementwise & np.concatenate([[False], is_mac[:-1]])
    first = np.zeros(len(layers), dtype=bool)
    first[:1] = True
    return LayerArrays(dims=raw[:, :8].copy(), h_in=raw[:, 8], w_in=raw[:, 9], stride_h=raw[:, 10],
                       stride_w=raw[:, 11], is_mac=is_mac, kind=raw[:, 16].astype(np.int64),
                       in_elems=raw[:, 13], out_elems=raw[:, 14], macs=raw[:, 15],
                       vec_code=np.array([_SEQUENCE_CODE[_op_sequence(l)] for l in layers], dtype=np.int64),
                       vec_elems=raw[:, 18], fusable=fusable, first=first, weight_cum=np.cumsum(raw[:, 17]))
