"""The analytical cost model, vectorised over rows of (layer, accelerator) pairs.

Per row:

1. **Spatial mapping.** The dataflow names which loop dimensions may unroll on each array axis
   (rows, columns, MAC lanes inside a PE) — the same hints the zigzag backend gets:

   ============  ==============  ==============  ==============
   dataflow      rows            columns         lanes
   ============  ==============  ==============  ==============
   weight st.    C               K or G          K, G or C
   output st.    OY              OX              K, G or C
   row st.       FY or C         OY              K, G or C
   ============  ==============  ==============  ==============

   (:data:`accel_models.dataflows.SPATIAL_DIMS`.) Each layer takes, per axis, the allowed dimension
   that fills it best — a narrow layer on wide PEs unrolls its input channels on the lanes — and
   uneven tiles keep their idle PEs (a depthwise layer on a K×C weight-stationary array uses one
   row: the classic loss). Where the whole array leaves a layer waiting on the global buffer, the
   mapping on the array with one axis halved (repeatedly) is tried too and kept when faster: a
   mapper may leave PEs or lanes idle (``_best_mapping``).
2. **Temporal loops.** Every dimension runs ``ceil(D / unroll)`` times; compute cycles are their
   product, so utilization = MACs / (cycles × PEs × lanes).
3. **Global buffer ↔ array traffic**, searched over the register files' loop nest: the temporal
   loops form three groups (output channels, the reduction C·FY·FX, output pixels) and each of their
   six orders is a candidate, its innermost group split so that the operands depending on it hold
   the inner part (the rest runs outermost). Each operand has its own register-file share (ZigZag's
   separate weight, input and partial-sum files; lanes that share an operand share its entry) and
   keeps the inner loops it fits there; it is re-fetched once per trip of every loop it does not
   depend on outside them (ZigZag's and Timeloop's bottom-up reuse analysis); partial sums cross
   twice per revisit. Among the nests the one with the lowest buffer-or-compute time wins, ties
   broken by energy (ZigZag's latency-first choice). A per-PE local (input) buffer absorbs input
   re-fetches in proportion to how much it holds. Register-file energy: each MAC reads a weight and
   an input and reads and writes a partial sum, each in its share (Eyeriss's and ZigZag's counting).
4. **DRAM ↔ global buffer traffic**: compulsory when the layer, or its weights plus one output row,
   or its inputs plus one output channel fit; otherwise the cheaper of weight- or input-outer tiling.
   **On-chip residency** (when the accelerator declares it): weights within the weight cache (filled
   in layer order, resident across inferences) cost no DRAM traffic; with ``activations_on_chip`` a
   layer whose input and output fit in the global buffer keeps them there (the network's input still
   arrives from DRAM). Only what spills is DRAM traffic.
5. **Vector unit**: the layer's fused activation (its op sequence, ``FN_OPS``) on every output element,
   plus the element-wise layers fused into it, at the vector unit's lanes and cycles per op.
6. **Latency** = max(compute, DRAM bytes / DRAM bandwidth, buffer bytes / buffer bandwidth, vector)
   cycles + the fixed per-layer overhead; on a sequential (not ``pipelined``) target, a CPU core,
   the four terms add instead.
   **Energy** = accesses × per-byte energy of each level (technology table) + MACs × MAC energy +
   vector ops × ALU energy.

Non-MAC layers (element-wise, pooling, data movement) run on the vector unit and stream their
tensors through the global buffer from DRAM unless they stay on chip: never free. With
``fuse_elementwise`` an element-wise layer right after a MAC layer runs in that layer's output
pipeline: its vector cycles join its producer's, and it has no tensors or overhead of its own.
"""
from __future__ import annotations

import numpy as np

from ..dataflows import AXES, SPATIAL_DIMS
from ..hardware_arrays import DATAFLOW_ID, OP_COUNTS, RF_SPLIT, AccelArrays, LayerArrays
from ..report import ENERGY_COMPONENTS

N, K, C, G, P, Q, R, S = range(8)
_DIM_INDEX = {"K": K, "C": C, "G": G, "OY": P, "OX": Q, "FY": R, "FX": S}
_WIDTH = max(len(dims) for axes in SPATIAL_DIMS.values() for dims in axes.values())
# HINTS[dataflow id][axis] = allowed dims (-1 = none), from accel_models.dataflows.SPATIAL_DIMS
HINTS = np.full((len(DATAFLOW_ID), len(AXES), _WIDTH), -1)
for _df, _i in DATAFLOW_ID.items():
    for _a, _axis in enumerate(AXES):
        _dims = [_DIM_INDEX[d] for d in SPATIAL_DIMS[_df][_axis]]
        HINTS[_i, _a, :len(_dims)] = _dims
BOUNDS = np.array(["compute", "dram", "global_buffer", "vector"])


def spatial_unroll(dims: np.ndarray, axes: list[np.ndarray], dataflow: np.ndarray) -> tuple[np.ndarray, ...]:
    """Unroll factors ``u`` (M, 8) over all ``axes``, temporal trip counts ``t`` (M, 8), the unroll
    factors over the first two axes alone (the PE array, without the MAC lanes inside a PE), and how
    much of each axis is in use (M, len(axes))."""
    m = dims.shape[0]
    rows = np.arange(m)
    u = np.ones_like(dims)
    rem = dims.copy()
    used = np.ones((m, len(axes)))
    for axis, size in enumerate(axes):
        cand = HINTS[dataflow, axis]  # (M, width)
        valid = cand >= 0
        d = np.where(valid, np.take_along_axis(rem, np.maximum(cand, 0), axis=1), 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            util = np.where(valid, d / (np.ceil(d / size[:, None]) * size[:, None]), -1.0)
        best = np.argmax(util, axis=1)
        dim = cand[rows, best]
        f = np.minimum(rem[rows, dim], size)
        u[rows, dim] *= f
        used[:, axis] = f
        rem[rows, dim] = np.ceil(rem[rows, dim] / f)
        if axis == 1:
            u_array = u.copy()
    return u, rem, u_array, used


def layer_costs(L: LayerArrays, A: AccelArrays, detail: bool = True) -> dict:
    """Cycles, energy per component (pJ), utilization and bound for row-aligned layers/accelerators.
    Rows of one workload must be contiguous and in order (fusion pairs a layer with the row before).
    ``detail=False`` assembles only cycles and energy (the batched totals need nothing else)."""
    # vector-unit cycles of every row; fused element-wise rows hand theirs to their producer (the row before)
    if len(A.vec_cycles) == 1:  # one vector unit for the whole batch: a table lookup
        per_elem = (OP_COUNTS @ A.vec_cycles[0])[L.vec_code]
    else:
        per_elem = (OP_COUNTS[L.vec_code] * A.vec_cycles).sum(axis=1)
    vec = (per_elem + L.is_mac * A.out_stage) * L.vec_elems / A.vec_lanes
    fused = L.fusable & A.fuse
    if fused.any():
        vec = vec + np.append(np.where(fused, vec, 0.0)[1:], 0.0)
    mac_rows = np.flatnonzero(L.is_mac)
    vec_rows = np.flatnonzero(~L.is_mac)
    parts = [(mac_rows, _mac_costs(L.take(mac_rows), A.take(mac_rows), vec[mac_rows])),
             (vec_rows, _vector_costs(L.take(vec_rows), A.take(vec_rows), vec[vec_rows], fused[vec_rows]))]
    m = len(L)
    out: dict = {"energy": {c: np.zeros(m) for c in ENERGY_COMPONENTS}, "cycles": np.zeros(m)}
    if detail:
        for key in ("compute_cycles", "utilization", "dram_bytes", "vector_cycles", "overhead_cycles"):
            out[key] = np.zeros(m)
        out["resident_weights"] = np.zeros(m, dtype=bool)
        out["unfused"] = np.zeros(m, dtype=bool)
        out["ideal_cycles"] = np.zeros((m, 4))
        out["bound"] = np.empty(m, dtype=BOUNDS.dtype)
    for rows, costs in parts:
        for key, value in costs.items():
            if key not in out:
                continue
            if key == "energy":
                for c, e in value.items():
                    out["energy"][c][rows] = e
            else:
                out[key][rows] = value
    return out


def _finish(compute, dram_b, gb_b, vec, L: LayerArrays, A: AccelArrays, util, energy: dict,
            unfused, resident) -> dict:
    """Latency = the slowest of compute, DRAM transfer, buffer transfer and vector work (cycles),
    each at the accelerator's calibrated efficiency, plus the fixed per-layer overhead (cycles).
    ``ideal_cycles`` keeps the four terms before calibration (what :mod:`accel_models.calibration`
    fits against)."""
    ideal = np.stack([compute, dram_b / A.dram_bw, gb_b / A.gb_bw, vec], axis=1)
    terms = ideal
    overhead = np.where(unfused, A.layer_overhead, 0.0)
    if A.calibrated.any():  # uncalibrated accelerators (the search's) skip the extra arithmetic
        eff = A.efficiency[np.arange(len(L)) if len(A.efficiency) > 1 else 0, L.kind]
        terms = ideal / np.stack([eff, A.dram_eff * np.ones_like(eff), A.gb_eff * np.ones_like(eff),
                                  A.efficiency[:, -1] * np.ones_like(eff)], axis=1)
        util, overhead = util * eff, overhead + np.where(unfused, A.overhead_cycles, 0.0)
    busy = terms.max(axis=1)
    if A.sequential.any():  # one datapath issues everything in turn: the terms add
        busy = np.where(A.sequential, terms.sum(axis=1), busy)
    return {"cycles": busy + overhead, "compute_cycles": compute, "utilization": util,
            "bound": BOUNDS[np.argmax(terms, axis=1)], "dram_bytes": dram_b, "energy": energy, "ideal_cycles": ideal,
            "vector_cycles": vec, "overhead_cycles": overhead, "resident_weights": resident, "unfused": unfused}


def _mac_costs(L: LayerArrays, A: AccelArrays, vec: np.ndarray) -> dict:
    dims = L.dims
    n, kg, cg, g, p, q, r, s = (dims[:, i] for i in range(8))
    size_w = kg * cg * g * r * s
    size_o = n * kg * g * p * q
    size_i = n * cg * g * L.h_in * L.w_in

    # ---- DRAM <-> global buffer traffic (bytes) ----------------------------------------
    wb, ib, ob = size_w * A.prec_b, size_i * A.prec_b, size_o * A.prec_b
    cap = A.gb_bytes
    compulsory = (wb + ib + ob <= cap) | (wb + (ib + ob) / np.maximum(p, 1) <= cap) \
        | (ib + (wb + ob) / np.maximum(kg * g, 1) <= cap)
    tiled = np.minimum(wb + ib * np.ceil(wb / (cap / 2)), ib + wb * np.ceil((ib + ob) / (cap / 2))) + ob
    dram_b = np.where(compulsory, wb + ib + ob, tiled)
    # on-chip residency: weights inside the weight cache, activations that fit in the global buffer
    resident = out_res = in_res = np.zeros(len(L), dtype=bool)
    if A.weight_cache.any():
        resident = (L.weight_cum * A.prec_b <= A.weight_cache) & (A.weight_cache > 0)
    if A.act_on_chip.any():  # the network's input still arrives from DRAM
        out_res = A.act_on_chip & ((ib + ob) <= cap)
        in_res = out_res & ~L.first
    if resident.any() or out_res.any():
        dram_b = np.where(resident | out_res, np.where(resident, 0.0, wb) + np.where(in_res, 0.0, ib)
                          + np.where(out_res, 0.0, ob), dram_b)

    # a pipelined target waits on the slowest of its terms: the buffer's time matters above the others
    floor = np.where(A.sequential, 0.0, np.maximum(dram_b / A.dram_bw, vec))
    arr = _best_mapping(L, A, (size_w, size_i, size_o), floor)
    compute, gb_b = arr["compute"], arr["gb_b"]
    util = L.macs / np.maximum(compute * A.rows * A.cols * A.lanes, 1.0)  # idle PEs and lanes count
    energy = {"mac": L.macs * A.e_mac, "vector": vec * A.vec_lanes * A.e_alu, "rf": arr["rf"],
              "local_buffer": A.e_lb * arr["lb_b"],
              "global_buffer": A.e_gb * (arr["gb_port_b"] + dram_b * A.write_factor + np.where(resident, wb, 0.0)),
              "dram": A.e_dram * dram_b}
    return _finish(compute, dram_b, gb_b, vec, L, A, util, energy, np.ones(len(compute), dtype=bool), resident)


#: the array axes a mapper may leave partly idle (``_best_mapping``), in AccelArrays' names
ARRAY_AXES = ("rows", "cols", "lanes")


def _best_mapping(L: LayerArrays, A: AccelArrays, sizes: tuple, floor: np.ndarray) -> dict:
    """The spatial mapping of each row: the whole array (``_mapping``) or, where that leaves the
    layer waiting on the global buffer, the array with one axis halved (and halved again while that
    keeps helping and the layer still waits), whichever is fastest, then cheapest. A mapper may
    leave PEs or MAC lanes idle: more lanes unrolling the channels of a depthwise layer shrink what
    each register-file entry covers and multiply the buffer's re-fetches, and a mapper keeps the
    smaller unrolling then, so doubling an axis never makes a layer slower. Only an axis the layer
    fills more than half of is halved (on a half-used axis the halved array maps the same), and only
    where the buffer's time is above ``floor`` (cycles: the DRAM and vector time of a pipelined
    target, which the layer waits for anyway)."""
    best = _mapping(L, A, A.rows, A.cols, A.lanes, sizes)
    size = np.stack([getattr(A, ax) for ax in ARRAY_AXES], axis=1).astype(float)  # (M, 3)
    waits = best["gb_b"] / A.gb_bw > np.maximum(best["compute"], floor)
    row, axis = np.nonzero(waits[:, None] & (best["used"] * 2 > size) & (size >= 2))
    shape, prev = size[row], best["score"][row]
    while len(row):  # all (row, axis) candidates of one halving step in one call
        cand = np.arange(len(row))
        shape[cand, axis] = np.floor(shape[cand, axis] / 2)
        sub = A.take(row)
        alt = _mapping(L.take(row), sub, *shape.T, tuple(x[row] for x in sizes))
        first = np.lexsort((alt["score"], row))  # each row's cheapest candidate first
        first = first[np.r_[True, row[first][1:] != row[first][:-1]]]
        first = first[alt["score"][first] < best["score"][row[first]]]
        for key, value in alt.items():
            if key != "used":  # how much of the whole array a layer fills stays the whole array's
                best[key][row[first]] = value[first]
        keep = (alt["score"] < prev) & (alt["gb_b"] / sub.gb_bw > np.maximum(alt["compute"], floor[row])) \
            & (alt["used"][cand, axis] * 2 > shape[cand, axis]) & (shape[cand, axis] >= 2)
        row, axis, shape, prev = row[keep], axis[keep], shape[keep], alt["score"][keep]
    return best


def _mapping(L: LayerArrays, A: AccelArrays, rows: np.ndarray, cols: np.ndarray, lanes: np.ndarray,
             sizes: tuple) -> dict:
    """Compute cycles, global-buffer bytes (its bandwidth's share), register-file energy (pJ),
    local-buffer bytes and the buffer's port-word bytes of each row on a ``rows`` × ``cols`` array
    of ``lanes``-wide PEs, with the register-file loop nest that is fastest (then cheapest)."""
    size_w, size_i, size_o = sizes
    u, t, u_array, used = spatial_unroll(L.dims, [rows, cols, lanes], A.dataflow)
    compute = np.prod(t, axis=1)
    t_w, t_i, t_o, tiles = _array_traffic(L, A, u, t, u_array, sizes)
    prec, psum_b = A.prec_b[:, None], A.psum_b[:, None]

    # a per-PE local (input) buffer serves input re-fetches in proportion to how much of the input it holds
    # PEs along K use the same inputs: the global buffer broadcasts them, and each PE's local buffer
    # holds, writes and reads its own copy (ZigZag's count for a memory not shared across the array)
    dup = u_array[:, K][:, None]
    lb_total = (A.lb_bytes * rows * cols)[:, None]
    held = np.clip(lb_total / dup / np.maximum(size_i[:, None] * prec, 1.0), 0.0, 1.0)
    t_i_gb = np.maximum(size_i[:, None], t_i * (1.0 - held) + size_i[:, None] * held)
    lb_b = np.where(lb_total > 0, (t_i + t_i_gb) * prec * dup, 0.0)
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
    chosen = [np.take_along_axis(x, pick, 1)[:, 0] for x in (gb_opts, rf_opts, lb_b, score)]
    # buffer energy is charged per port word: each operand's transfer per RF refill (its footprint on
    # the array times the tile each PE's share holds) rounds up to whole words of the buffer's port
    tiles = [np.take_along_axis(x, pick, 1)[:, 0] for x in tiles]
    moved = [np.take_along_axis(x, pick, 1)[:, 0] for x in (t_w, t_i_gb, t_o)]
    return {"compute": compute, "gb_b": chosen[0], "rf": chosen[1], "lb_b": chosen[2], "score": chosen[3],
            "gb_port_b": _port_word_bytes(u, A, moved, tiles), "used": used}


def _array_traffic(L: LayerArrays, A: AccelArrays, u: np.ndarray, t: np.ndarray, u_array: np.ndarray,
                   sizes: tuple) -> tuple:
    """Elements crossing between the global buffer and the register files, per candidate loop nest
    (columns): weights, inputs, partial sums, and each operand's tile (elements per RF entry).

    Three temporal loop groups: output channels (K), the reduction (C·FY·FX) and output pixels
    (N·OY·OX); groups (G) run outermost (every operand depends on them). For each order of the three
    (``_loop_nests``) each operand keeps in its register file the inner loops it fits (ZigZag's
    bottom-up allocation) and is re-fetched once per trip of every loop it does not depend on
    outside them (``_rf_reuse``)."""
    size_w, size_i, size_o = sizes
    n, g, cg, p, q, r, s = (L.dims[:, i] for i in (N, G, C, P, Q, R, S))
    lane = u / u_array  # the MAC lanes' unrolling inside one PE: lanes sharing an operand share its RF entry
    per_entry = {"I2": lane[:, K] * lane[:, C] * lane[:, G] * lane[:, R] * lane[:, S],
                 "I1": lane[:, C] * lane[:, G] * lane[:, N] * lane[:, P] * lane[:, Q],
                 "O": lane[:, K] * lane[:, G] * lane[:, N] * lane[:, P] * lane[:, Q]}
    caps = tuple(np.maximum(1.0, np.floor(A.rf_bytes * RF_SPLIT[op] / (b * per_entry[op])))
                 for op, b in (("I2", A.prec_b), ("I1", A.prec_b), ("O", A.psum_b)))
    trips = np.stack([t[:, K], t[:, C] * t[:, R] * t[:, S], n * t[:, P] * t[:, Q]], axis=1)
    loop_trips = _loop_nests(trips, caps)
    (rf_w, tile_w), (rf_i, tile_i), (rf_o, tile_o) = (
        _rf_reuse(loop_trips, cap, relevant) for cap, relevant in zip(caps, RELEVANT))
    window = np.minimum(n * g * cg * p * q * r * s, size_i * r * s)  # every (r, s) offset a separate pass
    # an input tile as large as the reduction (channels × filter taps) serves the overlapping windows of
    # neighbouring outputs; a smaller one re-reads the input once per filter tap (``window``)
    whole_window = (tile_i >= trips[:, 1:2]) | (t[:, R] * t[:, S] == 1)[:, None]
    t_w = size_w[:, None] * rf_w
    t_i = np.where(whole_window, size_i[:, None], window[:, None]) * rf_i
    t_o = size_o[:, None] * (2 * rf_o - 1)  # partial sums: written, then read and written per revisit
    return t_w, t_i, t_o, (tile_w, tile_i, tile_o)


#: the six orders (innermost first) of the temporal loop groups K, reduction, pixels
ORDERS = np.array([(0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)])
#: the loop groups each operand depends on: weights, inputs, partial sums
RELEVANT = ((0, 1), (1, 2), (0, 2))
#: the group of each loop of each candidate nest (``_loop_nests``): the order, then its first group's rest
NEST_GROUPS = np.concatenate([ORDERS, ORDERS[:, :1]], axis=1)


def _loop_nests(trips: np.ndarray, caps: tuple) -> np.ndarray:
    """Trips (6, 4, M) of the candidate register-file loop nests, innermost first: for each order of
    the three loop groups (``ORDERS``), the innermost group split so that both operands depending on it
    hold its inner part (the smaller of their capacities), the rest of that group running outermost:
    the weight-stationary nest keeps a reduction tile of weights while the pixels stream past it."""
    nests = []
    for first, second, third in ORDERS:
        a, b = (op for op, relevant in enumerate(RELEVANT) if first in relevant)
        f = np.clip(np.minimum(caps[a], caps[b]), 1.0, trips[:, first])
        nests.append((f, trips[:, second], trips[:, third], np.ceil(trips[:, first] / f)))
    return np.array(nests)


def _rf_reuse(loop_trips: np.ndarray, cap: np.ndarray, relevant: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """For each candidate loop nest (``_loop_nests``): how many times an operand crosses between the
    global buffer and its register file, per element, and its tile (elements per RF entry); both (M, 6).

    Walking the nest innermost first, a loop the operand does not depend on (not in ``relevant``)
    reuses the held tile for free; a loop it depends on grows the tile while it fits ``cap`` (split
    where it stops fitting: the inner part stays inside). Every loop it does not depend on outside
    that point re-fetches the whole operand once per trip."""
    n_cand, depth, m = loop_trips.shape
    refetch, tile = np.ones((n_cand, m)), np.ones((n_cand, m))
    for c in range(n_cand):
        full = np.ones(m, dtype=bool)  # still inside the register file
        for pos in range(depth):
            tr = loop_trips[c, pos]
            if NEST_GROUPS[c, pos] in relevant:
                fits = tile[c] * tr <= cap
                # the tile never exceeds cap, so a fitting loop is whole and a split one keeps what fits
                tile[c] = np.where(full, tile[c] * np.minimum(tr, np.floor(cap / tile[c])), tile[c])
                full &= fits
            elif pos:  # nothing is outside the register file before the first loop
                refetch[c] = np.where(full, refetch[c], refetch[c] * tr)
    return refetch.T, tile.T


def _port_word_bytes(u: np.ndarray, A: AccelArrays, moved: list[np.ndarray], tiles: tuple) -> np.ndarray:
    """Global-buffer bytes charged for the array's traffic (weights, inputs, partial sums: elements
    ``moved`` between buffer and array). A buffer is read and written a port word (``gb_bw`` bytes)
    at a time, so each refill of the register files — an operand's spatial footprint on the array
    times the tile (elements per lane, ``tiles``) each PE's share holds — costs
    ``ceil(refill / port) · port`` bytes: ZigZag's counting (``CostModelEvaluation._calc_memory_access``).
    A wide port fed small refills (a large output-stationary array's broadcast weights) pays for its
    width."""
    port = np.maximum(A.gb_bw, 1.0)
    footprint = (u[:, K] * u[:, C] * u[:, G] * u[:, R] * u[:, S] * A.prec_b,
                 u[:, C] * u[:, G] * u[:, N] * u[:, P] * u[:, Q] * A.prec_b,
                 u[:, K] * u[:, G] * u[:, N] * u[:, P] * u[:, Q] * A.psum_b)
    total = np.zeros(len(port))
    for n_moved, fp, tile, width in zip(moved, footprint, tiles, (A.prec_b, A.prec_b, A.psum_b)):
        refill = np.maximum(fp * tile, 1e-9)
        total += n_moved * width * np.ceil(refill / port) * port / refill
    return total


def _vector_costs(L: LayerArrays, A: AccelArrays, vec: np.ndarray, fused: np.ndarray) -> dict:
    """Element-wise, pooling, data movement on the vector unit; tensors streamed from DRAM through
    the global buffer unless they stay on chip. A fused row costs nothing of its own (its vector
    cycles and energy are its producer's)."""
    tensor_b = (L.in_elems + L.out_elems) * A.prec_b
    out_res = fused | (A.act_on_chip & (tensor_b <= A.gb_bytes))
    in_res = out_res & (fused | ~L.first)
    dram_b = np.where(in_res, 0.0, L.in_elems * A.prec_b) + np.where(out_res, 0.0, L.out_elems * A.prec_b)
    zero = np.zeros_like(dram_b)
    vec = np.where(fused, 0.0, vec)
    energy = {"mac": zero, "vector": vec * A.vec_lanes * A.e_alu, "rf": zero, "local_buffer": zero,
              "global_buffer": A.e_gb * np.where(fused, 0.0, tensor_b) * (1 + A.write_factor) / 2,
              "dram": A.e_dram * dram_b}
    return _finish(zero, dram_b, zero, vec, L, A, zero, energy, ~fused, zero.astype(bool))
