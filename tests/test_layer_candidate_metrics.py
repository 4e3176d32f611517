import pytest

from codesign import Candidate, DecodeError, Layer, Metrics, ValidationError, arch_workload
from codesign.spaces import ArchSpace


def test_layer_keys_round_trip_for_every_layer_of_a_network(rng):
    for layer in arch_workload(ArchSpace.default().sample(rng)):
        assert Layer.from_string(layer.key, name=layer.name) == layer
        assert Layer.from_dict(layer.to_dict()) == layer


def test_layer_counts_match_timeloop_definitions():
    dw = Layer("depthwise", "relu6", 1, 96, 96, 16, 16, 5, 5, 2, 2, 32, 32, groups=96, bias=1)
    assert dw.macs == 96 * 16 * 16 * 25
    assert (dw.pad_h, dw.pad_w) == (3, 3)  # 4 rows of padding, one of them never read
    assert Layer("pointwise", "none", 1, 8, 8, 5, 5).h_in == 5
    assert dw.params == 96 * 25 + 96
    add = Layer("elementwise", "add", 1, 24, 24, 16, 16, operands=2)
    assert add.macs == 0 and add.input_elems == 2 * 24 * 16 * 16 and add.output_elems == 24 * 16 * 16


def test_layer_string_errors():
    with pytest.raises(DecodeError, match="expected"):
        Layer.from_string("conv-relu_n1_k2")
    with pytest.raises(ValidationError, match="groups"):
        Layer.from_dict({"op": "conv", "fn": "none", "n": 1, "k": 8, "c": 6, "p": 2, "q": 2, "groups": 4})


def test_candidate_key_joins_both_strings_and_round_trips(rng):
    from codesign.spaces import JointSpace

    cand = JointSpace.default().sample(rng)
    assert cand.key == f"{cand.arch.key}@{cand.accel.key}"
    assert Candidate.from_string(cand.key) == cand
    assert Candidate.from_dict(cand.to_dict()) == cand
    with pytest.raises(DecodeError, match="@"):
        Candidate.from_string(cand.arch.key)


def test_metrics_json_round_trip_and_validation():
    m = Metrics(accuracy=0.97, latency_ms={"analytical": 0.41, "zigzag": 0.45}, energy_mj={"analytical": 0.02},
                area_mm2=3.2, params=120_000, macs=9_000_000, measured_latency_ms={"ort": 0.5},
                measured_latency_iqr_ms={"ort": 0.01})
    assert Metrics.from_string(m.to_string()) == m
    with pytest.raises(ValidationError, match="accuracy"):
        Metrics.from_dict({"accuracy": 1.5})
    with pytest.raises(ValidationError, match="latency_ms.analytical"):
        Metrics.from_dict({"latency_ms": {"analytical": float("nan")}})
    with pytest.raises(ValidationError, match="malformed JSON"):
        Metrics.from_string("{")
