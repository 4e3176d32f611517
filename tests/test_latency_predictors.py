"""Latency predictors: a lookup table of measured layers, and a learned model, as a search uses them."""
import numpy as np
import onnxruntime
import pytest

from codesign import ArchConfig, ValidationError, arch_workload
from codesign.spaces import ArchSpace
from latency_predictors.layer_models import layer_model
from latency_predictors.learned_predictor import LearnedPredictor
from latency_predictors.lut_predictor import LutPredictor, NotCovered

NET = ArchConfig.from_string("net_r32_i3_n10:stem_k3_c16_s1_swish:ibn_k3_e1_c16_s1_relu6:"
                             "ibn_k5_e6_c24_s2_se0.25_hswish,fused_ibn_k3_e3_c24_s1:head_c64")


def test_every_layer_of_a_network_has_a_runnable_single_layer_model():
    for layer in arch_workload(NET):
        model = layer_model(layer)
        sess = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        feeds = {i.name: np.zeros(i.shape, np.float32) for i in sess.get_inputs()}
        (y,) = sess.run(None, feeds)
        assert y.size == layer.output_elems, layer.key


def test_lookup_table_measures_each_layer_once_and_persists(tmp_path):
    lut = LutPredictor(threads=1)
    layers = arch_workload(NET)
    measured = lut.extend(layers)
    assert measured == len({l.key for l in layers}) and lut.extend(layers) == 0
    assert all(v > 0 for v in lut.table_ms.values())
    lut.fit_overhead([layers], [lut.layer_sum(layers) + 0.05])
    assert lut.predict(layers) == pytest.approx(lut.layer_sum(layers) + 0.05, rel=1e-6)
    path = tmp_path / "lut.json"
    lut.save(path)
    again = LutPredictor.load(path)
    assert again.predict(layers) == pytest.approx(lut.predict(layers)) and again.env["runtime"] == "ort"


def test_a_layer_missing_from_the_table_is_never_counted_as_zero():
    lut = LutPredictor()
    layers = arch_workload(NET)
    lut.extend(layers[:3])
    with pytest.raises(NotCovered, match="not in the latency table") as exc:
        lut.predict(layers)
    assert 0 < exc.value.covered_fraction < 1
    assert lut.predict(layers, measure_missing=True) > 0 and lut.coverage(layers) == 1.0


def test_learned_predictor_fits_recovers_a_linear_law_and_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    space = ArchSpace.default()
    workloads = [arch_workload(space.sample(rng)) for _ in range(40)]
    truth = [0.05 + sum(l.macs for l in w) / 2e8 + 0.004 * len(w) for w in workloads]
    pred = LearnedPredictor().fit(workloads, truth)
    assert pred.cv_within_10pct > 0.9 and pred.cv_mape < 0.05
    assert np.all(pred.coef >= 0)
    path = tmp_path / "learned.json"
    pred.save(path)
    assert LearnedPredictor.load(path).predict(workloads[0]) == pytest.approx(pred.predict(workloads[0]))


def test_predictor_files_are_validated(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "something-else"}')
    with pytest.raises(ValidationError, match="format"):
        LutPredictor.load(bad)
    with pytest.raises(ValidationError, match="format"):
        LearnedPredictor.load(bad)
    bad.write_text('{"format": "codesign-latency-lut/1", "layers_ms": {"conv-x": -1}}')
    with pytest.raises(ValidationError, match="positive"):
        LutPredictor.load(bad)
    with pytest.raises(ValidationError, match="not found"):
        LutPredictor.load(tmp_path / "missing.json")


def test_block_units_chain_into_the_network_and_each_runs_alone():
    import torch

    from codesign.workload.model_builder import build_model
    from latency_predictors.block_units import network_units

    units = network_units(NET)
    assert len(units) == len(NET.blocks) + 2 and len({u.key for u in units}) == len(units)
    x = torch.zeros(1, 3, 32, 32)
    for u in units:                      # each unit takes the previous one's output shape
        assert tuple(x.shape) == u.input_shape, u.key
        x = u.make().eval()(x)
    assert x.shape == build_model(NET, seed=0)(torch.zeros(1, 3, 32, 32)).shape
    sess = onnxruntime.InferenceSession(units[2].onnx().SerializeToString(), providers=["CPUExecutionProvider"])
    assert sess.get_inputs()[0].shape == list(units[2].input_shape)


def test_block_lut_predictor_measures_units_once_fits_its_correction_and_round_trips(tmp_path):
    from latency_predictors.block_lut_predictor import BlockLutPredictor

    space = ArchSpace.resolve("ibn_32_compact")
    archs = [space.sample(np.random.default_rng(i)) for i in range(12)]
    pred = BlockLutPredictor(threads=1)
    assert pred.extend(NET) == len(NET.blocks) + 2 and pred.extend(NET) == 0
    with pytest.raises(NotCovered, match="unit"):
        pred.predict(archs[0])                           # a unit never measured is not counted as zero
    for a in archs:
        pred.extend(a)
    truth = [1.3 * pred.unit_sum(a) for a in archs]      # a network law the correction must learn
    pred.fit(archs, truth)
    assert [pred.predict(a) for a in archs] == pytest.approx(truth, rel=0.02)
    pred.save(tmp_path / "block_lut.json")
    again = BlockLutPredictor.load(tmp_path / "block_lut.json")
    assert again.predict(archs[3]) == pytest.approx(pred.predict(archs[3]))


def test_weight_streaming_runs_copies_with_their_own_weights_and_skips_light_units():
    import onnxruntime

    from latency_predictors.block_units import network_units
    from latency_predictors.weight_streaming import (MIN_STREAMED_WEIGHT_BYTES, last_level_cache_bytes,
                                                     streamed_time_ms, weight_bytes, weight_copies)

    heavy = ArchConfig.from_string("net_r32_i3_n10:stem_k3_c64_s1:ibn_k5_e6_c256_s1:head_c64")
    units = network_units(heavy)
    block = units[1].onnx()
    assert weight_bytes(block) >= MIN_STREAMED_WEIGHT_BYTES
    copies = weight_copies(block, 3)
    assert len(copies.graph.initializer) == 3 * len(block.graph.initializer)
    assert len({t.name for t in copies.graph.initializer}) == len(copies.graph.initializer)   # own weights
    x = np.random.default_rng(0).standard_normal(units[1].input_shape).astype(np.float32)
    def run(m):
        return onnxruntime.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {m.graph.input[0].name: x})
    alone, together = run(block)[0], run(copies)
    assert len(together) == 3 and all(np.allclose(t, alone, atol=1e-5) for t in together)
    assert last_level_cache_bytes() > 0
    assert streamed_time_ms(units[0].onnx(), 0.0, 1) is None           # the stem's few weights: not streamed
    assert streamed_time_ms(block, 0.0, 1, footprint_bytes=4 * weight_bytes(block)) > 0


def test_block_lut_keeps_streamed_times_of_heavy_units_only(tmp_path):
    from latency_predictors.block_lut_predictor import BlockLutPredictor
    from latency_predictors.block_units import network_units
    from latency_predictors.weight_streaming import MIN_STREAMED_WEIGHT_BYTES, weight_bytes

    heavy = ArchConfig.from_string("net_r32_i3_n10:stem_k3_c64_s1:ibn_k5_e6_c256_s1:head_c64")
    pred = BlockLutPredictor(threads=1)
    pred.extend(heavy)
    expect = {u.key for u in network_units(heavy) if weight_bytes(u.onnx()) >= MIN_STREAMED_WEIGHT_BYTES}
    assert set(pred.streamed_ms) == expect and expect
    cached, streamed = pred.unit_sums(heavy)
    assert cached == pytest.approx(pred.unit_sum(heavy)) and streamed > 0
    pred.save(tmp_path / "t.json")
    assert BlockLutPredictor.load(tmp_path / "t.json").streamed_ms == pred.streamed_ms


def test_streamed_share_counts_only_the_weights_beyond_each_effective_cache(tmp_path):
    from latency_predictors.block_lut_predictor import (CORRECTION_FEATURES, EFFECTIVE_CACHES_MIB, BlockLutPredictor,
                                                        correction_features)
    from codesign.errors import ValidationError

    small = NET                                            # well under 8 MiB of float32 weights
    big = ArchConfig.from_string("net_r32_i3_n10:stem_k3_c32_s1:ibn_k3_e6_c320_s2,ibn_k3_e6_c320_s1,"
                                 "ibn_k3_e6_c320_s1,ibn_k3_e6_c320_s1:head_c1280")
    share = [CORRECTION_FEATURES.index(f"streamed_share_beyond_{c}mib") for c in EFFECTIVE_CACHES_MIB]
    assert correction_features(small, 1.0, 2.0)[share] == pytest.approx(0.0)     # all fits in cache
    f = correction_features(big, 1.0, 2.0)[share]
    assert np.all(np.diff(f) <= 0) and f[0] > 0            # less streams the larger the cache
    assert np.all(f < np.log(2.0))                          # never more than every weight from DRAM
    assert correction_features(big, 1.0, 1.0)[share] == pytest.approx(0.0)       # streaming costs nothing
    old = tmp_path / "old.json"                             # a table of the hinge version (format /2)
    old.write_text('{"format": "codesign-latency-block-lut/2", "units_ms": {}}')
    with pytest.raises(ValidationError, match="format"):
        BlockLutPredictor.load(old)
