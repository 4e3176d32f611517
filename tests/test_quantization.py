"""Quantized networks: the policy in the architecture string and the space, post-training
quantization simulated in torch agreeing with onnxruntime's int8 model, and bad calibration data."""
import dataclasses

import numpy as np
import pytest
import torch

from codesign.arch import ArchConfig, QuantPolicy
from codesign.errors import DecodeError, ValidationError
from codesign.search.config import SearchConfig
from codesign.spaces.arch_space import ArchSpace
from codesign.spaces.hw_space import HwSpace


def test_a_quantization_policy_is_part_of_the_architecture_string():
    arch = ArchSpace.resolve("ibn_32_compact").sample(np.random.default_rng(0))
    q = dataclasses.replace(arch, quant=QuantPolicy(4, 8))
    assert q.to_string().startswith("net_r32_i3_n10_w4a8:")
    assert ArchConfig.from_string(q.to_string()) == q and ArchConfig.from_dict(q.to_dict()) == q
    assert q.as_float() == arch and arch.to_string() == q.to_string().replace("_w4a8", "")
    with pytest.raises(DecodeError, match="quant: expected a quantization policy"):
        ArchConfig.from_string(q.to_string().replace("w4a8", "w9a8"))


def test_the_quantized_space_samples_policies_and_pairs_with_a_precision_space():
    space = ArchSpace.resolve("ibn_32_compact_quant")
    assert space.quant == ("w4a4", "w8a8", "w16a16") and "quant" in {c.name for c in space.choices()}
    seen = {space.sample(np.random.default_rng(s)).quant.key for s in range(30)}
    assert seen == {"w4a4", "w8a8", "w16a16"}
    hw = HwSpace.resolve("nahas_like_precision")
    assert {c.name: c.options for c in hw.choices()}["precision_bits"] == (4, 8, 16)
    cfg = SearchConfig.from_yaml("examples/precision.yaml")
    assert any(c.metric == "precision_supported" and c.lo == 1 for c in cfg.constraints)


def test_a_bad_policy_in_a_space_is_refused_naming_it(tmp_path):
    bad = tmp_path / "space.yaml"
    bad.write_text("extends: ibn_32_compact\nquant: [float, w8a9]\n")
    with pytest.raises(ValidationError, match=r"quant\[1\]"):
        ArchSpace.resolve(str(bad))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from codesign.accuracy.datasets import load_dataset
    from codesign.accuracy.training import TrainConfig, train

    torch.manual_seed(0)
    arch = ArchSpace.resolve("ibn_32_compact").sample(np.random.default_rng(3))
    data = load_dataset("digits", 32, 3, 0)
    model, res = train(arch, data, TrainConfig(epochs=3))
    return model.eval(), data, res.val_accuracy


def test_simulated_int8_matches_onnxruntime_int8_and_fewer_bits_cost_accuracy(trained, tmp_path):
    from codesign.quantization import quantize_onnx_int8, quantized_accuracy
    from codesign.quantization.onnx_int8 import onnx_predictions
    from codesign.workload.onnx_export import export_onnx

    model, data, float_acc = trained
    calib = data.train.x[:256]
    acc8 = quantized_accuracy(model, QuantPolicy(8, 8), calib, data.val)
    acc2 = quantized_accuracy(model, QuantPolicy(2, 2), calib, data.val)
    assert abs(acc8 - float_acc) < 0.03 and acc2 < acc8 - 0.1
    export_onnx(model, tmp_path / "m.onnx", dynamic_batch=True)
    info = quantize_onnx_int8(tmp_path / "m.onnx", tmp_path / "m8.onnx", calib.numpy())
    assert info["quantize_nodes"] > 0
    ort8 = np.mean(onnx_predictions(tmp_path / "m8.onnx", data.val.x.numpy()).argmax(1) == data.val.y.numpy())
    assert abs(ort8 - acc8) < 0.02


def test_calibration_data_of_the_wrong_shape_is_refused_naming_it(trained, tmp_path):
    from codesign.quantization import quantize_onnx_int8, quantized_accuracy
    from codesign.workload.onnx_export import export_onnx

    model, data, _ = trained
    with pytest.raises(ValidationError, match="calibration"):
        quantized_accuracy(model, QuantPolicy(8, 8), data.train.x[:4, :, :16, :16], data.val)
    export_onnx(model, tmp_path / "m.onnx")
    with pytest.raises(ValidationError, match="calibration data for m.onnx"):
        quantize_onnx_int8(tmp_path / "m.onnx", tmp_path / "q.onnx", np.zeros((0, 3, 32, 32), np.float32))
    (tmp_path / "junk.onnx").write_bytes(b"not onnx")
    with pytest.raises(ValidationError, match="junk.onnx.*not an ONNX model"):
        quantize_onnx_int8(tmp_path / "junk.onnx", tmp_path / "q.onnx", np.zeros((2, 3, 32, 32), np.float32))


def test_int8_latency_is_measured_from_the_cli_and_learned_as_int8_units(capsys):
    from codesign.cli.main import main
    from latency_predictors.block_units import network_units

    arch = ArchSpace.resolve("ibn_32_compact").sample(np.random.default_rng(0))
    assert main(["measure", arch.to_string(), "--precision", "int8", "--json"]) == 0
    out = capsys.readouterr().out
    assert "ort (int8): median" in out and '"median_ms"' in out
    q = dataclasses.replace(arch, quant=QuantPolicy(8, 8))
    units = network_units(q)
    assert all(u.key.endswith("#int8") and u.int8 for u in units)
    ops = {n.op_type for n in units[1].onnx().graph.node}
    assert "QuantizeLinear" in ops
    assert not any(u.key.endswith("#int8") for u in network_units(dataclasses.replace(arch, quant=QuantPolicy(16, 16))))


def test_a_search_over_precision_scores_quantized_accuracy_and_marks_unsupported_pairs_infeasible(tmp_path):
    from codesign.cli.main import main
    from codesign.run_data import load_run
    from codesign.yaml_io import dump_yaml

    doc = SearchConfig.from_yaml("examples/precision.yaml").to_dict()
    doc["accuracy"]["supernet"]["steps"] = 4
    doc["accuracy"]["calib_images"] = 64
    doc["budget"] = {"trials": 8}
    doc["searcher"] = {"name": "random", "batch": 4}
    (tmp_path / "p.yaml").write_text(dump_yaml(doc))
    assert main(["search", str(tmp_path / "p.yaml"), "--out", str(tmp_path / "run"), "--no-progress"]) == 0
    run = load_run(tmp_path / "run")
    rows = run.rows
    assert len(rows) == 8 and "accuracy_float" in run.metrics
    for r in rows:
        arch_bits = int(r["candidate"].split(":")[0].rsplit("_w", 1)[1].split("a")[0])
        accel_bits = int(r["candidate"].split("_p")[1].split("_")[0])
        assert r["precision_supported"] == int(arch_bits <= accel_bits)
        if not r["precision_supported"]:  # known before training: infeasible, and not trained
            assert not r["feasible"] and r["accuracy"] is None and "precision_supported" in r["skipped"]
        elif r["skipped"] is None:
            assert r["accuracy"] is not None and r["accuracy_float"] is not None
    assert any(not r["precision_supported"] for r in rows)
    assert any(r["accuracy_float"] is not None for r in rows)
    assert main(["report", str(tmp_path / "run")]) == 0
