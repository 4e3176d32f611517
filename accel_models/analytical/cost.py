"""The analytical cost model, vectorised over rows of (layer, accelerator) pairs.

Per row:

1. **Spatial mapping.** The dataflow names which loop dimensions may unroll on each array axis
   (rows, columns, MAC lanes inside a PE) — the same hints the zigzag backend gets:

   ============  ==============  ==============  ==============
   dataflow      rows            columns         lanes
   ============  ==============  ==============  ==============
   weight st.    C               K or G          K or G
   output st.    OY              OX              K or G
   row st.       FY or C         OY              K or G
   ============  ==============  ==============  ==============

   Each axis takes the allowed dimension that fills it best (uneven tiles keep their idle PEs:
   a depthwise layer on a K×C weight-stationary array uses one row — the classic loss).
2. **Temporal loops.** Every dimension runs ``ceil(D / unroll)`` times; compute cycles are their
   product, so utilization = MACs / (cycles × PEs × lanes).
3. **Global buffer ↔ array traffic**, searched over which operand stays in the register file: the
   stationary operand is fetched once, the others are re-fetched once per tile of the loops they do
   not depend on, fewer times as the RF holds more of the stationary operand (its share, in
   elements per MAC lane, is a tile of the loops it covers: e.g. stationary weights covering the
   whole reduction keep each partial sum in the PE until it is final); partial sums otherwise cross
   the buffer twice per reduction tile. A per-PE local (input) buffer absorbs input re-fetches in
   proportion to how much it holds. Register-file energy: each MAC reads a weight and an input and
   reads and writes a partial sum, each in its share (Eyeriss's and ZigZag's counting).
4. **DRAM ↔ global buffer traffic**: compulsory when the layer, or its weights plus one output row,
   or its inputs plus one output channel fit; otherwise the cheaper of weight- or input-outer tiling.
5. **Latency** = max(compute, DRAM bytes / DRAM bandwidth, buffer bytes / buffer bandwidth) cycles.
   **Energy** = accesses × per-byte energy of each level (technology table) + MACs × MAC energy.

Non-MAC layers (elementwise, pooling, data movement) run on a vector unit of ``cols × lanes``
elements/cycle and stream their tensors through the global buffer from DRAM: never free.
"""
from __future__ import annotations

import numpy as np

from ..hardware_arrays import RF_SPLIT, AccelArrays, LayerArrays
from ..report import ENERGY_COMPONENTS

N, K, C, G, P, Q, R, S = range(8)
# HINTS[dataflow][axis] = allowed dims (-1 = none); axes: rows, cols, lanes
HINTS = np.array([
    [[C, -1, -1], [K, G, -1], [K, G, -1]],  # weight stationary
    [[P, -1, -1], [Q, -1, -1], [K, G, -1]],  # output stationary
    [[R, C, -1], [P, -1, -1], [K, G, -1]],  # row stationary
])
BOUNDS = np.array(["compute", "dram", "global_buffer"])


def spatial_unroll(dims: np.ndarray, axes: list[np.ndarray], dataflow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unroll factors ``u`` (M, 8) and temporal trip counts ``t`` (M, 8) for each row."""
    m = dims.shape[0]
    rows = np.arange(m)
    u = np.ones_like(dims)
    rem = dims.copy()
    for axis, size in enumerate(axes):
        cand = HINTS[dataflow, axis]  # (M, 3)
        valid = cand >= 0
        d = np.where(valid, np.take_along_axis(rem, np.maximum(cand, 0), axis=1), 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            util = np.where(valid, d / (np.ceil(d / size[:, None]) * size[:, None]), -1.0)
        best = np.argmax(util, axis=1)
        dim = cand[rows, best]
        f = np.minimum(rem[rows, dim], size)
        u[rows, dim] *= f
        rem[rows, dim] = np.ceil(rem[rows, dim] / f)
    return u, rem


def layer_costs(L: LayerArrays, A: AccelArrays) -> dict:
    """Cycles, energy per component (pJ), utilization and bound for row-aligned layers/accelerators."""
    mac_rows = np.flatnonzero(L.is_mac)
    vec_rows = np.flatnonzero(~L.is_mac)
    parts = [(mac_rows, _mac_costs(L.take(mac_rows), A.take(mac_rows))),
             (vec_rows, _vector_costs(L.take(vec_rows), A.take(vec_rows)))]
    m = len(L)
    out: dict = {"energy": {c: np.zeros(m) for c in ENERGY_COMPONENTS}}
    for key in ("cycles", "compute_cycles", "utilization", "dram_bytes"):
        out[key] = np.zeros(m)
    out["ideal_cycles"] = np.zeros((m, 3))
    out["bound"] = np.empty(m, dtype=BOUNDS.dtype)
    for rows, costs in parts:
        for key, value in costs.items():
            if key == "energy":
                for c, e in value.items():
                    out["energy"][c][rows] = e
            else:
                out[key][rows] = value
    return out


def _finish(compute, dram_b, gb_b, L: LayerArrays, A: AccelArrays, util, energy: dict) -> dict:
    """Latency = the slowest of compute, DRAM transfer and buffer transfer (cycles), each at the
    accelerator's calibrated efficiency, plus its fixed per-layer overhead. ``ideal_cycles`` keeps
    the three terms before calibration (what :mod:`accel_models.calibration` fits against)."""
    ideal = np.stack([compute, dram_b / A.dram_bw, gb_b / A.gb_bw], axis=1)
    terms, cycles_extra = ideal, 0.0
    if A.calibrated.any():  # uncalibrated accelerators (the search's) skip the extra arithmetic
        eff = A.efficiency[np.arange(len(L)), L.kind]
        terms = ideal / np.stack([eff, A.dram_eff, A.gb_eff], axis=1)
        util, cycles_extra = util * eff, A.overhead_cycles
    return {"cycles": terms.max(axis=1) + cycles_extra, "compute_cycles": compute, "utilization": util,
            "bound": BOUNDS[np.argmax(terms, axis=1)], "dram_bytes": dram_b, "energy": energy, "ideal_cycles": ideal}


def _mac_costs(L: LayerArrays, A: AccelArrays) -> dict:
    dims = L.dims
    n, kg, cg, g, p, q, r, s = (dims[:, i] for i in range(8))
    u, t = spatial_unroll(dims, [A.rows, A.cols, A.lanes], A.dataflow)
    compute = np.prod(t, axis=1)
    size_w = kg * cg * g * r * s
    size_o = n * kg * g * p * q
    size_i = n * cg * g * L.h_in * L.w_in

    # ---- global buffer <-> array traffic (elements): a small search over the RF-stationary operand
    # For stationary operand X, X's tiles are the outer temporal loops and each X element crosses the
    # buffer once; operands that do not depend on an outer loop are re-fetched once per its trip;
    # partial sums cross twice per reduction tile unless outputs are the stationary operand.
    window = np.minimum(n * g * cg * p * q * r * s, size_i * r * s)  # every (r, s) offset a separate pass
    # Register-file capacity (elements per MAC lane in each operand's share): a stationary operand's
    # tile holds that many elements, so the loops they cover run inside the PE without buffer traffic.
    cap_w, cap_i, cap_o = (np.maximum(1.0, np.floor(A.rf_bytes * RF_SPLIT[op] / (b * A.lanes)))
                           for op, b in (("I2", A.prec_b), ("I1", A.prec_b), ("O", A.psum_b)))
    red = t[:, C] * t[:, R] * t[:, S]
    pix_tiles = n * t[:, P] * t[:, Q]
    psum_w = 2 * np.ceil(red / np.minimum(red, cap_w)) - 1  # W stationary: psums stay over its weight tile
    psum_i = 2 * red - 1
    # columns: stationary W, I, O
    t_w = np.stack([size_w, size_w * np.ceil(pix_tiles / np.minimum(pix_tiles, cap_i)),
                    size_w * np.ceil(pix_tiles / np.minimum(pix_tiles, cap_o))], axis=1)
    t_i = np.stack([window * t[:, K], size_i, window * t[:, K]], axis=1)
    t_o = np.stack([size_o * psum_w, size_o * psum_i, size_o], axis=1)
    prec, psum_b = A.prec_b[:, None], A.psum_b[:, None]

    # a per-PE local (input) buffer serves input re-fetches in proportion to how much of the input it holds
    lb_total = (A.lb_bytes * A.rows * A.cols)[:, None]
    held = np.clip(lb_total / np.maximum(size_i[:, None] * prec, 1.0), 0.0, 1.0)
    t_i_gb = np.maximum(size_i[:, None], t_i * (1.0 - held) + size_i[:, None] * held)
    lb_b = np.where(lb_total > 0, (t_i + t_i_gb) * prec, 0.0)
    gb_opts = (t_w + t_i_gb) * prec + t_o * psum_b
    # Register file (pJ): every MAC reads its weight and input from their shares and reads and writes
    # its partial sum (Eyeriss and ZigZag count the same), plus the writes that fill the RF from the
    # global buffer.
    e_w, e_i, e_o, wf = (x[:, None] for x in (A.e_rf_w, A.e_rf_i, A.e_rf_o, A.write_factor))
    rf_opts = L.macs[:, None] * (e_w * prec + e_i * prec + e_o * psum_b * (1 + wf)) \
        + wf * ((t_w * e_w + t_i * e_i) * prec + t_o * e_o * psum_b)
    e_opts = A.e_gb[:, None] * gb_opts + rf_opts + A.e_lb[:, None] * lb_b
    # ZigZag-like choice: lowest buffer-or-compute time (latency), then lowest energy
    score = np.maximum(gb_opts / A.gb_bw[:, None], compute[:, None]) * (1 + 1e-9) + e_opts * 1e-12
    pick = np.argmin(score, axis=1)[:, None]
    gb_b = np.take_along_axis(gb_opts, pick, 1)[:, 0]

    # ---- DRAM <-> global buffer traffic (bytes) ----------------------------------------
    wb, ib, ob = size_w * A.prec_b, size_i * A.prec_b, size_o * A.prec_b
    cap = A.gb_bytes
    compulsory = (wb + ib + ob <= cap) | (wb + (ib + ob) / np.maximum(p, 1) <= cap) \
        | (ib + (wb + ob) / np.maximum(kg * g, 1) <= cap)
    tiled = np.minimum(wb + ib * np.ceil(wb / (cap / 2)), ib + wb * np.ceil((ib + ob) / (cap / 2))) + ob
    dram_b = np.where(compulsory, wb + ib + ob, tiled)

    util = L.macs / np.maximum(compute * A.rows * A.cols * A.lanes, 1.0)
    energy = {"mac": L.macs * A.e_mac, "vector": np.zeros_like(compute),
              "rf": np.take_along_axis(rf_opts, pick, 1)[:, 0],
              "local_buffer": A.e_lb * np.take_along_axis(lb_b, pick, 1)[:, 0],
              "global_buffer": A.e_gb * (gb_b + dram_b * A.write_factor), "dram": A.e_dram * dram_b}
    return _finish(compute, dram_b, gb_b, L, A, util, energy)


def _vector_costs(L: LayerArrays, A: AccelArrays) -> dict:
    """Elementwise, pooling, data movement: a vector unit of cols × lanes elements/cycle, tensors
    streamed from DRAM through the global buffer."""
    dram_b = (L.in_elems + L.out_elems) * A.prec_b
    zero = np.zeros_like(dram_b)
    energy = {"mac": zero, "vector": L.in_elems * A.e_alu, "rf": zero, "local_buffer": zero,
              "global_buffer": A.e_gb * dram_b * (1 + A.write_factor) / 2, "dram": A.e_dram * dram_b}
    return _finish(L.in_elems / (A.cols * A.lanes), dram_b, zero, L, A, zero, energy)
