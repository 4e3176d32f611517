"""Device models from a few measurements, used as an engineer would: plan, measure, fit, predict."""
import collections
import csv
import json

import numpy as np
import pytest
from scipy.stats import spearmanr

from codesign.cli.main import main
from codesign.errors import DecodeError, ValidationError
from codesign.nets import fbnet, nasbench201, network_module, network_workload
from latency_predictors.device_measurements import read_measurements
from latency_predictors.device_model import DeviceModel, predict_networks
from latency_predictors.device_prior import DevicePrior

NB201 = "|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|none~2|"
FBNET = ("k5_e6-skip-k3_e1_g2-skip-k5_e1-skip-skip-skip-k5_e6-k5_e1-k3_e1_g2-k5_e1-k5_e6-k3_e6-k3_e3-k5_e6-k3_e6-"
         "k3_e3-k5_e1-k3_e3-k5_e1-k5_e1_g2")


def synthetic_device_ms(layers) -> float:
    """A made-up target: 20 µs per layer launch, 2 GMAC/s, 1 G elements/s of activation traffic."""
    return sum(0.02 + l.macs / 2e6 + (l.input_elems + l.output_elems) / 1e6 for l in layers)


@pytest.mark.parametrize("arch", [NB201, FBNET])
def test_family_workloads_match_the_exported_onnx_graph(arch):
    from codesign.workload.onnx_export import export_onnx
    from codesign.workload.onnx_graph import workload_from_onnx

    direct = network_workload(arch)
    onnx_layers = workload_from_onnx(export_onnx(network_module(arch), input_shape=(1, 3, 32, 32)))
    compute = lambda ls: collections.Counter(l.key for l in ls if l.op in ("conv", "depthwise", "pointwise", "fc", "pool"))  # noqa: E731
    assert compute(direct) == compute(onnx_layers)
    assert sum(l.macs for l in direct) == sum(l.macs for l in onnx_layers)
    moved = lambda ls: sum(l.output_elems for l in ls if l.op == "data_movement")  # noqa: E731
    assert moved(direct) == moved(onnx_layers)


def test_family_strings_reject_unknown_tokens_by_name():
    with pytest.raises(DecodeError, match="nor_conv_5x5~0"):
        nasbench201.parse("|nor_conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    with pytest.raises(DecodeError, match="block 1 is `k7_e6`"):
        fbnet.parse("-".join(["k3_e1", "k7_e6"] + ["skip"] * 20))


def write_csv(path, rows, header=("network", "latency_ms"), meta=("# device: test-board", "# batch: 1")):
    with open(path, "w", newline="") as fh:
        fh.write("\n".join(meta) + "\n")
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_ten_measurements_rank_an_unseen_device(rng):
    archs = list(dict.fromkeys(fbnet.sample(rng) for _ in range(120)))
    from latency_predictors.workload_features import feature_matrix
    workloads = [network_workload(a) for a in archs]
    x = feature_matrix(workloads)
    y = np.array([synthetic_device_ms(w) for w in workloads])
    model = DeviceModel({"device": "synthetic"}, "latency_ms", archs[:10], x[:10], y[:10], DevicePrior.load())
    pred, sd = model.predict_features(x[10:])
    assert spearmanr(pred, y[10:]).statistic > 0.9
    assert np.median(np.abs(pred - y[10:]) / y[10:]) < 0.10
    assert np.all(sd > 0) and np.all(pred > 0)
    loo = model.loo_summary()
    assert loo["n"] == 10 and 0 <= loo["median_rel_err"] < 0.2


def test_plan_fit_predict_from_the_command_line(tmp_path, capsys):
    plan_dir = tmp_path / "plan"
    assert main(["device", "plan", "--space", "ibn_32_compact", "-n", "6", "--out", str(plan_dir)]) == 0
    meas = read_measurements(plan_dir / "measurements.csv")
    assert len(meas.networks) == 6 and np.isnan(meas.latency_ms).all()
    assert sorted(p.name for p in plan_dir.glob("*.onnx")) == [f"net_{i:03d}.onnx" for i in range(6)]
    # the engineer measures the six networks on the target and fills in the column
    meas.latency_ms[:] = [synthetic_device_ms(network_workload(n)) for n in meas.networks]
    meas.write()
    out = tmp_path / "board.json"
    assert main(["device", "fit", str(plan_dir / "measurements.csv"), "--out", str(out)]) == 0
    assert "leave-one-out" in capsys.readouterr().out
    net = meas.networks[0]
    assert main(["device", "predict", str(out), net, str(plan_dir / "net_001.onnx"), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [r["network"] for r in rows] == [net, str(plan_dir / "net_001.onnx")]
    assert rows[0]["latency_ms"] == pytest.approx(meas.latency_ms[0], rel=0.15)
    assert all(r["uncertainty_ms"] > 0 for r in rows)


def test_device_measure_fills_the_plan_on_this_cpu(tmp_path):
    plan_dir = tmp_path / "plan"
    assert main(["device", "plan", "--space", "fbnet", "-n", "3", "--out", str(plan_dir)]) == 0
    assert main(["device", "measure", str(plan_dir), "--runtime", "ort"]) == 0
    meas = read_measurements(plan_dir / "measurements.csv")
    assert np.all(meas.latency_ms > 0)
    assert meas.device["runtime"].startswith("ort")


def test_a_saved_model_predicts_the_same_after_reload(tmp_path, rng):
    archs = [nasbench201.sample(rng) for _ in range(8)]
    path = write_csv(tmp_path / "m.csv", [[a, f"{synthetic_device_ms(network_workload(a)):.4f}"] for a in archs])
    assert main(["device", "fit", str(path), "--out", str(tmp_path / "d.json")]) == 0
    model = DeviceModel.load(tmp_path / "d.json")
    first = predict_networks(model, [NB201])
    again = predict_networks(DeviceModel.load(tmp_path / "d.json"), [NB201])
    assert np.allclose(first, again)


@pytest.mark.parametrize("rows,header,message", [
    ([[NB201, "1.0"]], ("network", "latency"), "missing column `latency_ms`"),
    ([[NB201, "-2"]], ("network", "latency_ms"), "m.csv:4:latency_ms"),
    ([[NB201, "nan"]], ("network", "latency_ms"), "expected a positive number, got `nan`"),
    ([["|bogus~0|+|x|+|y|", "1.0"]], ("network", "latency_ms"), "m.csv:4:network"),
    ([[NB201, "1.0"], [FBNET, "2.0"]], ("network", "latency_ms"), "at least 3 measured networks"),
    ([[NB201, ""], [FBNET, "2.0"], [NB201, "3"]], ("network", "latency_ms"), "m.csv:4:latency_ms: empty|empty"),
])
def test_bad_measurement_files_name_the_file_line_and_field(tmp_path, capsys, rows, header, message):
    path = write_csv(tmp_path / "m.csv", rows, header)
    assert main(["device", "fit", str(path), "--out", str(tmp_path / "d.json")]) == 2
    err = capsys.readouterr().err
    assert __import__("re").search(message, err), err
    assert not (tmp_path / "d.json").exists()


def test_a_model_from_another_format_is_refused_with_the_refit_command(tmp_path):
    (tmp_path / "old.json").write_text(json.dumps({"format": "codesign-device-model/0"}))
    with pytest.raises(ValidationError, match="codesign device fit"):
        DeviceModel.load(tmp_path / "old.json")


def test_a_device_model_fitted_with_other_feature_code_is_refused_with_the_refit_command(tmp_path, rng):
    # e.g. fitted before the analytical model (one of the features) changed: its numbers no longer hold
    path = fitted_board(tmp_path, rng)
    doc = json.loads(open(path).read())
    doc["prior"]["check_features"][0][-1] *= 1.25  # the last feature is an analytical latency (ms)
    (tmp_path / "old.json").write_text(json.dumps(doc))
    with pytest.raises(ValidationError, match=r"analytical_ms_.*codesign device fit.*prior:check_features"):
        DeviceModel.load(tmp_path / "old.json")
    del doc["prior"]["check_features"]  # a prior from before the check was stored
    (tmp_path / "older.json").write_text(json.dumps(doc))
    with pytest.raises(ValidationError, match="codesign device fit"):
        DeviceModel.load(tmp_path / "older.json")
    assert DeviceModel.load(path).device  # the one fitted with this code loads


def fitted_board(tmp_path, rng, n=8) -> str:
    """A device model of a made-up board from ``n`` measured default-space networks."""
    from codesign.spaces import ArchSpace

    space = ArchSpace.resolve("ibn_32_compact")
    archs = [space.sample(rng).to_string() for _ in range(n)]
    path = write_csv(tmp_path / "board.csv", [[a, f"{synthetic_device_ms(network_workload(a)):.5f}"] for a in archs],
                     meta=("# device: board-x", "# batch: 1", "# runtime: vendor-sdk 2.1"))
    assert main(["device", "fit", str(path), "--out", str(tmp_path / "board.json")]) == 0
    return str(tmp_path / "board.json")


def test_a_device_model_is_a_search_objective_shown_in_report_and_evaluate(tmp_path, rng, capsys):
    from codesign.report.build import build_report
    from codesign.search.loop import run_search
    from search_helpers import cheap_config

    board = fitted_board(tmp_path, rng)
    objectives = [{"metric": "accuracy"}, {"metric": "device_latency_ms", "reference": 50.0}]
    with pytest.raises(ValidationError, match="device_latency_ms needs"):
        cheap_config(tmp_path, objectives=objectives)
    with pytest.raises(ValidationError, match="measure.device"):
        cheap_config(tmp_path, objectives=objectives, measure={"device": str(tmp_path / "missing.json")})
    cfg = cheap_config(tmp_path, objectives=objectives, budget={"trials": 6}, measure={"device": board})
    state = run_search(cfg, tmp_path / "run", progress=False)
    rows = [t.metrics for t in state.store.trials() if t.state == "COMPLETE"]
    assert len(rows) == 6 and all(r["device_latency_ms"] > 0 for r in rows)
    for r, t in zip(rows, [t for t in state.store.trials() if t.state == "COMPLETE"]):
        arch = t.candidate.partition("@")[0]
        assert r["device_latency_ms"] == pytest.approx(float(predict_networks(DeviceModel.load(board), [arch])[0][0]))
    out = build_report(tmp_path / "run")
    assert out["fidelity"]["device_model"]["device"] == "board-x"
    assert out["fidelity"]["device_model"]["measurements"] == 8
    assert "leave-one-out median error" in (tmp_path / "run" / "report.html").read_text()
    capsys.readouterr()
    arch = rows and [t for t in state.store.trials()][0].candidate.partition("@")[0]
    assert main(["evaluate", arch, "--hw", "eyeriss_like", "--device", board, "--json"]) == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last["device_model"]["device"] == "board-x" and last["device_model"]["value"] > 0
