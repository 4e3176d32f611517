"""The analytical model's execution terms (vector unit, overhead, residency, fusion, sequential
targets, per-layer mapping choice) and the published-hardware validation sets, used as a user would."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from accel_models.analytical_backend import evaluate_analytical, evaluate_batch
from accel_models.validation import load_target, load_validation_set, proxy_latency, shipped_sets
from codesign.accel import AccelConfig, VectorUnit
from codesign.errors import CodesignError, DecodeError
from codesign.layer import Layer, workload_totals
from codesign.nets import imagenet

EDGE = AccelConfig(pe_rows=4, pe_cols=4, macs_per_pe=64, rf_bytes_per_pe=2048, global_buffer_bytes=2 * 1024**2,
                   dram_bw_bytes_per_cycle=1.0, clock_mhz=500.0)


# ---- published networks ----------------------------------------------------------------------
@pytest.mark.parametrize("name, mmacs, mparams", [
    ("mobilenet_v1_1.0_224", 569, 4.24),  # TF-slim mobilenet_v1.md
    ("mobilenet_v2_1.0_224", 300, 3.47),  # TF-slim mobilenet/README.md
    ("mobilenet_v2_1.4_224", 582, 6.06),
    ("mobilenet_v2_0.35_96", 11, 1.66),
    ("mobilenet_v3_large_1.0", 217, 5.4),
    ("mobilenet_v3_large_minimal", 209, 3.9),
    ("resnet50_v1_224", 4100, 25.6),  # He et al.: 3.8-4.1 GMACs
    ("vgg16", 15470, 138.4),
])
def test_published_networks_have_their_published_sizes(name, mmacs, mparams):
    totals = workload_totals(imagenet.workload(name))
    assert totals["macs"] / 1e6 == pytest.approx(mmacs, rel=0.09)
    assert totals["params"] / 1e6 == pytest.approx(mparams, rel=0.03)


def test_unknown_network_name_lists_the_forms():
    with pytest.raises(DecodeError, match="mobilenet_v2_1.4_224"):
        imagenet.workload("mobilenet_v2_2.0_224")


def test_evaluate_command_takes_a_published_network_and_a_target(capsys):
    from codesign.cli.main import main

    assert main(["evaluate", "mobilenet_v3_small_1.0", "--hw", "coral_edge_tpu_devboard", "--json"]) == 0
    out = capsys.readouterr().out
    assert "vector cyc" in out and "overhead cyc" in out and "resident" in out
    rep = json.loads(out.strip().splitlines()[-1])
    layers = rep["layers"]
    assert all(set(l["terms_cycles"]) == {"compute", "dram", "global_buffer", "vector", "overhead"} for l in layers)
    assert any(l["fused"] for l in layers) and all(l["weights_resident"] for l in layers if l["macs"])


# ---- the execution terms -------------------------------------------------------------------
def _net():
    return imagenet.workload("mobilenet_v2_1.0_224")


def test_weights_within_the_cache_are_not_read_from_dram_every_inference():
    plain = evaluate_analytical(_net(), EDGE)
    cached = evaluate_analytical(_net(), replace(EDGE, weight_cache_bytes=2 * 1024**2))
    resident = [l.weights_resident for l in cached.layers if l.macs]
    assert resident[0] and not resident[-1]  # filled in layer order until the cache is full
    assert resident == sorted(resident, reverse=True)
    assert cached.energy_by_component_pj["dram"] < plain.energy_by_component_pj["dram"]
    assert cached.latency_ms < plain.latency_ms


def test_activations_on_chip_leave_only_the_input_and_spilled_weights_in_dram():
    accel = replace(EDGE, activations_on_chip=True, weight_cache_bytes=8 * 1024**2)
    rep = evaluate_analytical(_net(), accel)
    dram = [l.terms_cycles["dram"] for l in rep.layers]
    assert dram[0] > 0  # the image arrives from DRAM
    assert sum(dram[1:]) == 0


def test_fused_elementwise_layers_run_inside_their_producer():
    net = imagenet.workload("resnet50_v1_224")
    accel = replace(EDGE, layer_overhead_cycles=500.0)
    unfused = evaluate_analytical(net, accel)
    fused = evaluate_analytical(net, replace(accel, fuse_elementwise=True))
    adds = [i for i, l in enumerate(net) if l.op == "elementwise"]
    assert all(fused.layers[i].fused and fused.layers[i].cycles == 0 for i in adds)
    assert all(fused.layers[i - 1].terms_cycles["vector"] > unfused.layers[i - 1].terms_cycles["vector"] for i in adds)
    assert fused.latency_ms < unfused.latency_ms


def test_overhead_adds_its_cycles_to_every_layer_that_runs_on_its_own():
    net = _net()
    base = evaluate_analytical(net, EDGE)
    slow = evaluate_analytical(net, replace(EDGE, layer_overhead_cycles=1000.0))
    assert slow.latency_ms - base.latency_ms == pytest.approx(len(net) * 1000.0 / (EDGE.clock_mhz * 1e3))


def test_a_narrow_vector_unit_makes_squeeze_excite_and_hswish_networks_slow():
    se_net, plain_net = imagenet.workload("mobilenet_v3_large_1.0"), imagenet.workload("mobilenet_v3_large_minimal")
    on_chip = replace(EDGE, activations_on_chip=True, weight_cache_bytes=8 * 1024**2)  # DRAM no longer dominates
    wide = replace(on_chip, vector_unit=VectorUnit(lanes=256))
    narrow = replace(on_chip, vector_unit=VectorUnit(lanes=8, sigmoid=20.0))
    ratio = lambda a: evaluate_analytical(se_net, a).latency_ms / evaluate_analytical(plain_net, a).latency_ms  # noqa: E731
    assert ratio(narrow) > 1.15 * ratio(wide)


def test_a_sequential_target_adds_its_latency_terms():
    cpu = replace(EDGE, pipelined=False, vector_unit=VectorUnit(lanes=16))
    for layer in evaluate_analytical(_net(), cpu).layers:
        assert layer.cycles == pytest.approx(sum(layer.terms_cycles.values()))


def test_narrow_layers_unroll_input_channels_on_wide_pes():
    layer = Layer("pointwise", "none", 1, 16, 256, 14, 14)
    util = evaluate_analytical([layer], EDGE).layers[0].utilization
    assert util > 0.9  # K=16 alone would fill a quarter of the 64 lanes


def test_a_three_channel_first_convolution_unrolls_its_filter_taps_where_the_dataflow_allows():
    stem = Layer("conv", "relu", 1, 64, 3, 112, 112, r=7, s=7, stride_h=2, stride_w=2, h_in=224, w_in=224)
    ws = replace(EDGE, pe_rows=8, pe_cols=8)
    flex = replace(ws, dataflow="weight_stationary_flex")
    plain_util = evaluate_analytical([stem], ws).layers[0].utilization
    flex_util = evaluate_analytical([stem], flex).layers[0].utilization
    assert flex_util >= 2 * plain_util  # 7 of 8 rows hold filter rows instead of 3 holding channels
    wide = Layer("pointwise", "none", 1, 256, 256, 14, 14)  # enough channels: the same mapping either way
    assert evaluate_analytical([wide], flex).latency_ms == evaluate_analytical([wide], ws).latency_ms
    assert AccelConfig.from_string(flex.key) == flex and "_wsf_" in flex.key


def test_every_dataflow_has_spatial_hints_in_every_backend():
    from accel_models.dataflows import SPATIAL_DIMS
    from accel_models.timeloop_backend import TIMELOOP_SPATIAL
    from codesign.accel import DATAFLOWS

    assert set(SPATIAL_DIMS) == set(DATAFLOWS) == set(TIMELOOP_SPATIAL)


def test_batched_and_single_evaluations_agree_with_every_term_on():
    target = load_target("coral_edge_tpu_devboard")
    nets = [imagenet.workload(n) for n in ("mobilenet_v2_1.0_224", "resnet50_v1_224", "squeezenet_v1.1")]
    batch = evaluate_batch(nets, [target]).latency_ms
    single = [evaluate_analytical(n, target).latency_ms for n in nets]
    assert np.allclose(batch, single)


def test_new_fields_round_trip_through_the_canonical_string_and_yaml():
    accel = load_target("pixel1_cpu_fp32_1thread")
    assert "_vu4c" in accel.key and accel.key.endswith("_ac_sq")
    assert AccelConfig.from_string(accel.key) == accel
    import yaml

    assert AccelConfig.from_dict(yaml.safe_load(accel.to_yaml())) == accel
    assert "_vu" not in EDGE.key  # an accelerator without the terms keeps its old string


# ---- bad input -------------------------------------------------------------------------------
def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def _target_text(**override):
    fields = dict(pe_rows=8, pe_cols=8, macs_per_pe=64, rf_bytes_per_pe="2KiB", local_buffer_bytes_per_pe=0,
                  global_buffer_bytes="2MiB", dram_bw_bytes_per_cycle=1, clock_mhz=500, dataflow="weight_stationary",
                  precision_bits=8, tech="45nm",
                  vector_unit="{lanes: 64, add: 1, mul: 1, relu: 1, sigmoid: 8, pool: 1, move: 1}",
                  layer_overhead_cycles=1000, weight_cache_bytes="8MiB", fuse_elementwise="true",
                  activations_on_chip="true", pipelined="true")
    fields.update(override)
    return "\n".join(f"{k}: {v}" for k, v in fields.items() if v is not None) + "\n"


def test_a_target_without_a_vector_unit_or_overhead_is_refused_naming_file_and_field(tmp_path):
    path = _write(tmp_path, "t.yaml", _target_text(vector_unit=None, layer_overhead_cycles=None))
    with pytest.raises(CodesignError) as err:
        load_target(str(path))
    text = str(err.value)
    assert "t.yaml:vector_unit" in text and "t.yaml:layer_overhead_cycles" in text


@pytest.mark.parametrize("override, field", [
    ({"vector_unit": "{lanes: 0, add: 1, mul: 1, relu: 1, sigmoid: 8, pool: 1, move: 1}"}, "vector_unit.lanes"),
    ({"vector_unit": "{lanes: 64, add: 1, mul: 1, relu: 1, pool: 1, move: 1}"}, "sigmoid"),
    ({"vector_unit": "{lanes: 64, add: 1, mul: -2, relu: 1, sigmoid: 8, pool: 1, move: 1}"}, "vector_unit.mul"),
    ({"layer_overhead_cycles": -5}, "layer_overhead_cycles"),
    ({"weight_cache_bytes": "3TiB"}, "weight_cache_bytes"),
    ({"global_buffer_bytes": 12}, "global_buffer_bytes"),
])
def test_out_of_range_target_fields_name_the_file_and_field(tmp_path, override, field):
    path = _write(tmp_path, "bad_target.yaml", _target_text(**override))
    with pytest.raises(CodesignError) as err:
        load_target(str(path))
    assert "bad_target.yaml" in str(err.value) and field in str(err.value)


def test_a_validation_set_with_an_unbuildable_network_names_it(tmp_path):
    path = _write(tmp_path, "set.yaml", "name: x\ntarget: coral_edge_tpu_devboard\nkind: k\nsource: s\n"
                  "metric: latency_ms\nmeasurements:\n  mobilenet_v2_1.0_224: 2.6\n  resnet_9000: 3\n  vgg16: -1\n")
    with pytest.raises(CodesignError) as err:
        load_validation_set(str(path))
    text = str(err.value)
    assert "set.yaml" in text and "measurements.resnet_9000" in text and "measurements.vgg16" in text


# ---- the shipped validation sets -------------------------------------------------------------
@pytest.mark.parametrize("name", shipped_sets())
def test_shipped_sets_are_complete_and_every_prediction_is_positive(name):
    vs = load_validation_set(name)
    assert len(vs.networks) >= 10 and vs.source and np.all(vs.measured_ms > 0)
    workloads = vs.workloads()
    model = evaluate_batch(workloads, [vs.target]).latency_ms
    assert np.all(np.isfinite(model)) and np.all(model > 0)
    assert all(np.all(v > 0) for v in proxy_latency(workloads, vs.target).values())


def test_at_least_two_kinds_of_target():
    assert len({load_validation_set(n).kind for n in shipped_sets()}) >= 2
