"""The analytical cost model as a user meets it: a network on an accelerator, and the invariants
any trustworthy model must keep."""
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from accel_models.analytical_backend import evaluate_batch
from accel_models.registry import backend_names, evaluate
from codesign import AccelConfig, ArchConfig, Layer, ValidationError, arch_workload
from codesign.hw_files import resolve_accel
from codesign.spaces import ArchSpace, HwSpace

SPACE, HW = ArchSpace.default(), HwSpace.default()
NET = ArchConfig.from_string("net_r32_i3_n10:stem_k3_c16_s1:ibn_k3_e1_c16_s1:ibn_k5_e6_c24_s2_se0.25,"
                             "fused_ibn_k3_e3_c24_s1:head_c256")


def random_pairs(seed, n):
    rng = np.random.default_rng(seed)
    return [(SPACE.sample(rng), HW.sample(rng)) for _ in range(n)]


seeds = st.integers(0, 2**32 - 1)


def test_report_has_per_layer_costs_and_totals():
    rep = evaluate(arch_workload(NET), resolve_accel("eyeriss_like"))
    assert rep.backend == "analytical" and len(rep.layers) == len(arch_workload(NET))
    assert rep.latency_ms == pytest.approx(sum(l.latency_ms for l in rep.layers))
    assert rep.energy_mj == pytest.approx(sum(l.energy_total_pj for l in rep.layers) * 1e-9)
    assert rep.area_mm2 > 0
    for layer in rep.layers:
        assert layer.bound in ("compute", "dram", "global_buffer")
        assert set(layer.energy_pj) >= {"mac", "rf", "global_buffer", "dram"}
        assert 0.0 <= layer.utilization <= 1.0


@settings(max_examples=30)
@given(seed=seeds)
def test_every_layer_costs_something_positive_and_finite(seed):
    for arch, accel in random_pairs(seed, 3):
        rep = evaluate(arch_workload(arch), accel)
        for layer in rep.layers:  # elementwise, pooling and data movement included: never free
            assert np.isfinite(layer.cycles) and layer.cycles > 0, layer
            assert np.isfinite(layer.energy_total_pj) and layer.energy_total_pj > 0, layer
            assert all(v >= 0 for v in layer.energy_pj.values())


@settings(max_examples=40)
@given(seed=seeds, axis=st.sampled_from(["pe_rows", "pe_cols", "macs_per_pe"]))
@example(seed=341, axis="macs_per_pe")  # twice the lanes on a depthwise layer: the mapper leaves half idle
@example(seed=265, axis="macs_per_pe")
def test_more_compute_never_slows_a_compute_bound_layer(seed, axis):
    for arch, accel in random_pairs(seed, 2):
        accel = replace(accel, rf_bytes_per_pe=4096)
        bigger = replace(accel, **{axis: getattr(accel, axis) * 2})
        small, big = evaluate(arch_workload(arch), accel), evaluate(arch_workload(arch), bigger)
        for a, b in zip(small.layers, big.layers):
            if a.bound == "compute" and a.macs:
                assert b.cycles <= a.cycles * (1 + 1e-9), (a, b)


@settings(max_examples=40)
@given(seed=seeds, factor=st.sampled_from([2, 4, 16]))
def test_a_larger_global_buffer_never_adds_dram_traffic(seed, factor):
    for arch, accel in random_pairs(seed, 2):
        bigger = replace(accel, global_buffer_bytes=accel.global_buffer_bytes * factor)
        small, big = evaluate(arch_workload(arch), accel), evaluate(arch_workload(arch), bigger)
        for a, b in zip(small.layers, big.layers):
            assert b.energy_pj["dram"] <= a.energy_pj["dram"] * (1 + 1e-9), (a.name, accel.key)


def test_depthwise_on_a_weight_stationary_array_wastes_the_rows():
    dw = [l for l in arch_workload(NET) if l.op == "depthwise"]
    ws = resolve_accel("eyeriss_like")
    ws = replace(ws, dataflow="weight_stationary")
    os_ = replace(ws, dataflow="output_stationary")
    util_ws = [l.utilization for l in evaluate(dw, ws).layers]
    util_os = [l.utilization for l in evaluate(dw, os_).layers]
    assert max(util_ws) <= 1 / ws.pe_rows + 1e-9  # one input channel per group: one row in use
    assert min(util_os) > max(util_ws)


def test_batch_equals_one_at_a_time():
    pairs = random_pairs(7, 12)
    batch = evaluate_batch([arch_workload(a) for a, _ in pairs], [h for _, h in pairs])
    for i, (arch, accel) in enumerate(pairs):
        rep = evaluate(arch_workload(arch), accel)
        assert batch.latency_ms[i] == pytest.approx(rep.latency_ms, rel=1e-9)
        assert batch.energy_mj[i] == pytest.approx(rep.energy_mj, rel=1e-9)
        assert batch.area_mm2[i] == pytest.approx(rep.area_mm2)


def test_many_networks_on_one_accelerator():
    archs = [a for a, _ in random_pairs(3, 5)]
    accel = resolve_accel("simba_like")
    batch = evaluate_batch([arch_workload(a) for a in archs], [accel])
    assert batch.latency_ms == pytest.approx([evaluate(arch_workload(a), accel).latency_ms for a in archs])


def test_area_grows_with_every_resource():
    base = resolve_accel("eyeriss_like")
    area = evaluate(arch_workload(NET), base).area_mm2
    for field, value in [("pe_rows", 24), ("macs_per_pe", 2), ("rf_bytes_per_pe", 1024),
                         ("local_buffer_bytes_per_pe", 4096), ("global_buffer_bytes", 512 * 1024)]:
        assert evaluate(arch_workload(NET), replace(base, **{field: value})).area_mm2 > area, field


def test_bad_hardware_is_a_clear_error_never_a_zero():
    tiny_rf = replace(resolve_accel("simba_like"), rf_bytes_per_pe=64)
    with pytest.raises(ValidationError, match="rf_bytes_per_pe.*smallest tile"):
        evaluate(arch_workload(NET), tiny_rf)
    with pytest.raises(ValidationError, match="no technology table hw_configs/tech/3nm.yaml"):
        evaluate(arch_workload(NET), replace(AccelConfig(), tech="3nm"))
    with pytest.raises(ValidationError, match="unknown cost model backend.*analytical"):
        evaluate(arch_workload(NET), AccelConfig(), backend="maestro")
    with pytest.raises(ValidationError, match="empty workload"):
        evaluate([], AccelConfig())
    assert {"analytical", "zigzag", "timeloop"} <= set(backend_names())


def test_any_onnx_layer_kind_is_costed():
    layers = [Layer("conv", "relu", 1, 16, 8, 8, 8, 3, 3, groups=4, bias=1, name="grouped"),
              Layer("pool", "max", 1, 16, 16, 4, 4, 3, 3, 2, 2, name="maxpool"),
              Layer("data_movement", "transpose", 1, 16, 16, 4, 4, name="shuffle"),
              Layer("fc", "none", 4, 10, 64, 1, 1, bias=1, name="fc")]
    rep = evaluate(layers, AccelConfig())
    assert all(l.latency_ms > 0 and l.energy_total_pj > 0 for l in rep.layers)


def test_a_register_file_holding_the_whole_layer_reads_every_operand_from_the_buffer_once():
    # one PE, one MAC lane: 8→8 channels on a 4×4 image is 64 weights, 128 inputs, 128 outputs
    layer = Layer("pointwise", "none", 1, 8, 8, 4, 4, h_in=4, w_in=4, name="pw")
    roomy = AccelConfig.from_string("pe1x1_m1_rf2k_lb0_gb64k_bw8_clk800_ws_p8_t45nm")
    tight = replace(roomy, rf_bytes_per_pe=12)  # one weight, input and 24-bit partial sum per share
    port = 2.0  # bytes/cycle: one 8-bit word per lane along each edge of a 1×1 array
    buffer_bytes = [evaluate([layer], a).layers[0].terms_cycles["global_buffer"] * port for a in (roomy, tight)]
    assert buffer_bytes[0] == pytest.approx(64 + 128 + 128 * 3)  # each crosses once; outputs as 24-bit sums
    assert buffer_bytes[1] > buffer_bytes[0]  # a register file of one element per operand re-fetches
