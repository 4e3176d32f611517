"""The analytical cost model, vectorised over rows of (layer, accelerator) pairs.

Per row:

1. **Spatial mapping.** The dataflow names which loop dimensions may unroll on each array axis
   (rows, columns, MAC lanes inside a PE) — the same hints the zigzag backend gets:

   ============  ==============  ==============  ==============
   dataflow      rows            columns         lanes
   ============  ==============  ==============  ==============
   weight st.    C               K or G          K, G or OX
   output st.    OY              OX              K or G
   row st.       FY or C         OY              K or G
   ============  ==============  ==============  ==============

   Each axis takes the allowed dimension that fills it best (uneven tiles keep their idle PEs:
   a depthwise layer on a K×C weight-stationary array uses one row — the classic loss).
2. **Temporal loops.** Every dimension runs ``ceil(D / unroll)`` times; compute cycles are their
   product, so utilization = MACs / (cycles × PEs × lanes).
3. **Global buffer ↔ array traffic** from the dataflow's stationarity: the stationary operand is
   fetched once (if a PE's share fits its register file), the others are re-fetched once per tile
   of the loops they do not depend on; partial sums cross the buffer once per reduction tile.
   A per-PE local (input) buffer absorbs input re-fetches in proportion to how much it holds.
4. **DRAM ↔ global buffer traffic**: compulsory when the layer, or its weights plus one output row,
   or its inputs plus one output channel fit; otherwise the cheaper of weight- or input-outer tiling.
5. **Latency** = max(compute, DRAM bytes / DRAM bandwidth, buffer bytes / buffer bandwidth) cycles.
   **Energy** = accesses × per-byte energy of each level (technology table) + MACs × MAC energy.

Non-MAC layers (elementwise, pooling, data movement) run on a vector unit of ``cols × lanes``
elements/cycle and stream their tensors through the global buffer from DRAM: never free.
"""
from __future__ import annotations

import numpy as np

from ..hardware_arrays import AccelArrays, LayerArrays

N, K, C, G, P, Q, R, S = range(8)
# HINTS[dataflow][axis] = allowed dims (-1 = none); axes: rows, cols, lanes
HINTS = np.array([
    [[C, -1, -1], [K, G, -1], [K, G, Q]],  # weight stationary
    [[P, -1, -1], [Q, -1, -1], [K, G, -1]],  # output stationary
    [[R, C, -1], [P, -1, -1], [K, G, -1]],  # row stationary
])
BOUNDS = np.array(["compute", "dram", "global_buffer"])


def spatial_unroll(dims: np.ndarray, axes: list[np.ndarray], dataflow: np.ndarray):
    """Unroll factors ``u`` (M, 8), temporal trip counts ``t`` (M, 8), and per array axis the chosen
    dimension and its unroll factor ((M, 3) each) for each row."""
    m = dims.shape[0]
    rows = np.arange(m)
    u = np.ones_like(dims)
    rem = dims.copy()
    chosen = np.zeros((m, len(axes)), dtype=np.int64)
    factor = np.ones((m, len(axes)))
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
        chosen[:, axis], factor[:, axis] = dim, f
    return u, rem, chosen, factor


def layer_costs(L: LayerArrays, A: AccelArrays) -> dict[str, np.ndarray]:
    """Cycles, energy per component (pJ), utilization and bound for row-aligned layers/accelerators."""
    dims = L.dims
    n, kg, cg, g, p, q, r, s = (dims[:, i] for i in range(8))
    u, t, chosen, factor = spatial_unroll(dims, [A.rows, A.cols, A.lanes], A.dataflow)
    compute = np.prod(t, axis=1)

    size_w = kg * cg * g * r * s
    size_o = n * kg * g * p * q
    size_i = n * cg * g * L.h_in * L.w_in

    # ---- global buffer <-> array traffic (elements): a small search over the RF-stationary operand
    # For stationary operand X, X's tiles are the outer temporal loops and each X element crosses the
    # buffer once; operands that do not depend on an outer loop are re-fetched once per its trip;
    # partial sums cross twice per reduction tile unless outputs are the stationary operand.
    window = n * g * cg * p * q * r * s  # input reads when every (r, s) offset is a separate pass
    red_tiles = t[:, C] * t[:, R] * t[:, S]
    pix_tiles = n * t[:, P] * t[:, Q]
    kt = t[:, K]
    psum = 2 * red_tiles - 1
    # rows: stationary W, I, O  -> traffic of (W, I, O) in elements
    t_w = np.stack([size_w, size_w * pix_tiles, size_w * pix_tiles], axis=1)
    t_i = np.stack([np.minimum(window, size_i * r * s) * kt, size_i, np.minimum(window, size_i * r * s) * kt], axis=1)
    t_o = np.stack([size_o * psum, size_o * psum, size_o], axis=1)

    # a per-PE local (input) buffer serves input re-fetches in proportion to how much of the input it holds
    lb_total = (A.lb_bytes * A.rows * A.cols)[:, None]
    held = np.clip(lb_total / np.maximum(size_i[:, None] * A.prec_b[:, None], 1.0), 0.0, 1.0)
    t_i_gb = np.maximum(size_i[:, None], t_i * (1.0 - held) + size_i[:, None] * held)
    lb_b = np.where(lb_total > 0, (t_i + t_i_gb) * A.prec_b[:, None], 0.0)
    gb_opts = (t_w + t_i_gb) * A.prec_b[:, None] + t_o * A.psum_b[:, None]
    rf_fill_opts = (t_w + t_i) * A.prec_b[:, None] + t_o * A.psum_b[:, None]
    # RF reads per MAC: the non-stationary operands (the stationary one is reused in place)
    rf_per_mac = np.stack([A.prec_b + 2 * A.psum_b, A.prec_b + 2 * A.psum_b, 2 * A.prec_b], axis=1)
    gb_time = gb_opts / A.gb_bw[:, None]
    e_opts = A.e_gb[:, None] * gb_opts + A.e_rf[:, None] * (L.macs[:, None] * rf_per_mac
                                                             + rf_fill_opts * A.write_factor[:, None]) \
        + A.e_lb[:, None] * lb_b
    # ZigZag-like choice: lowest buffer time (latency), then lowest energy
    score = np.maximum(gb_time, compute[:, None]) * (1 + 1e-9) + e_opts * 1e-12
    pick = np.argmin(score, axis=1)[:, None]
    gb_array_b = np.take_along_axis(gb_opts, pick, 1)[:, 0]
    lb_bytes = np.take_along_axis(lb_b, pick, 1)[:, 0]
    rf_bytes = L.macs * np.take_along_axis(rf_per_mac, pick, 1)[:, 0] \
        + np.take_along_axis(rf_fill_opts, pick, 1)[:, 0] * A.write_factor

    # ---- DRAM <-> global buffer traffic (bytes) ----------------------------------------
    wb, ib, ob = size_w * A.prec_b, size_i * A.prec_b, size_o * A.prec_b
    cap = A.gb_bytes
    compulsory = (wb + ib + ob <= cap) | (wb + (ib + ob) / np.maximum(p, 1) <= cap) \
        | (ib + (wb + ob) / np.maximum(kg * g, 1) <= cap)
    tk = np.ceil(wb / (cap / 2))
    tp = np.ceil((ib + ob) / (cap / 2))
    dram_mac_b = np.where(compulsory, wb + ib + ob, np.minimum(wb + ib * tk, ib + wb * tp) + ob)

    # ---- non-MAC layers on the vector unit ------------------------------------------------
    vec_width = A.cols * A.lanes
    dram_vec_b = (L.in_elems + L.out_elems) * A.prec_b
    vec_cycles = L.in_elems / vec_width

    mac = L.is_mac
    dram_b = np.where(mac, dram_mac_b, dram_vec_b)
    gb_b = np.where(mac, gb_array_b, 0.0)
    compute = np.where(mac, compute, vec_cycles)
    terms = np.stack([compute, dram_b / A.dram_bw, gb_b / A.gb_bw], axis=1)
    cycles = terms.max(axis=1)
    bound = BOUNDS[np.argmax(terms, axis=1)]
    util = np.where(mac, L.macs / np.maximum(compute * A.rows * A.cols * A.lanes, 1.0), 0.0)

    # ---- energy (pJ) ------------------------------------------------------------------
    energy = {
        "mac": np.where(mac, L.macs * A.e_mac, 0.0),
        "vector": np.where(mac, 0.0, L.in_elems * A.e_alu),
        "rf": np.where(mac, A.e_rf * rf_bytes, 0.0),
        "local_buffer": np.where(mac, A.e_lb * lb_bytes, 0.0),
        "global_buffer": A.e_gb * (gb_b + dram_b * A.write_factor),
        "dram": A.e_dram * dram_b,
    }
    return {"cycles": cycles, "compute_cycles": compute, "utilization": util, "bound": bound,
            "dram_bytes": dram_b, "energy": energy}
