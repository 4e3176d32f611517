"""`codesign export RUN --pick …`: a point of the front as ONNX, weights, a TVM library, accelerator files
and a model card — and every file checked the way a deployment engineer would use it."""
import json
import os
import re
import subprocess
import sys

import numpy as np
import onnxruntime as ort
import pytest
import torch

from codesign.cli.main import main
from codesign.errors import ValidationError
from codesign.export import load_exported_model, pick_row
from codesign.export.files import inside, prepare_out_dir
from codesign.run import knee_index
from codesign.search.objectives import Objective


@pytest.fixture(scope="module")
def exported(smoke_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "knee"
    assert main(["export", str(smoke_run), "--pick", "knee", "--out", str(out), "--zigzag", "--batch-sizes", "1,4"]) == 0
    return out


def test_search_report_export_end_to_end(smoke_run, exported):
    assert main(["report", str(smoke_run)]) == 0
    for name in ("model.onnx", "weights.pt", "sample_input.npy", "sample_output.npy", "tvm/model.so",
                 "tvm/run_tvm.py", "accelerator/accelerator.yaml", "accelerator/zigzag/accelerator.yaml",
                 "accelerator/zigzag/mapping.yaml", "accelerator/zigzag/workload.yaml",
                 "accelerator/zigzag/run_zigzag.py", "accelerator/timeloop/arch.yaml", "search_config.yaml",
                 "model_card.md", "model_card.json"):
        assert (exported / name).is_file(), name
    card = json.loads((exported / "model_card.json").read_text())
    front = json.loads((smoke_run / "front.json").read_text())
    assert card["candidate"] in {r["candidate"] for r in front}
    assert card["run"]["on_front"] and card["run"]["pick"] == "knee"
    assert card["checks"]["onnx_vs_torch_max_abs_diff"] < 1e-4
    sources = {(m["name"], m["source"]) for m in card["metrics"]}
    assert ("accuracy", "search (supernet)") in sources and ("latency_ms", "export (zigzag)") in sources
    listed = {f["path"] for f in card["files"]}
    assert "tvm/model.so" in listed and "model.onnx" in listed
    md = (exported / "model_card.md").read_text()
    assert card["candidate"] in md and "## Reproduce" in md and "knee" in md
    assert "## Accelerator" in md and "0 = `0`" in md and re.search(r"\| (\d+) of \1 images \|", md)
    sess = ort.InferenceSession(str(exported / "model.onnx"), providers=["CPUExecutionProvider"])
    batch = np.random.default_rng(0).standard_normal((4, 3, 32, 32)).astype(np.float32)
    assert sess.run(None, {"input": batch})[0].shape == (4, 10)     # the ONNX takes any batch size
    assert not list(exported.parent.glob(".*partial*"))          # the staging directory is gone


def test_exported_tvm_library_matches_onnxruntime_in_a_fresh_process(exported, tmp_path):
    x = np.random.default_rng(3).standard_normal((1, 3, 32, 32)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    env = {**os.environ, "TVM_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, str(exported / "tvm" / "run_tvm.py"), "--input", str(tmp_path / "x.npy"),
                           "--output", str(tmp_path / "y.npy")], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    sess = ort.InferenceSession(str(exported / "model.onnx"), providers=["CPUExecutionProvider"])
    want = sess.run(None, {"input": x})[0]
    assert np.abs(np.load(tmp_path / "y.npy") - want).max() < 1e-3
    # and the bundled sample is checked by the loader itself
    proc = subprocess.run([sys.executable, str(exported / "tvm" / "run_tvm.py")], capture_output=True, text=True,
                          env=env, timeout=300)
    assert proc.returncode == 0 and json.loads(proc.stdout.splitlines()[-1])["matches"] is True


def test_a_tvm_library_is_built_for_each_batch_size_asked(exported):
    card = json.loads((exported / "model_card.json").read_text())
    assert card["tvm"]["batch_sizes"] == [1, 4] and (exported / "tvm" / "model_b4.so").is_file()
    assert "tvm (untuned), batch 4" in card["measured_on_host"]
    env = {**os.environ, "TVM_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, str(exported / "tvm" / "run_tvm.py"), "--batch", "4"], capture_output=True,
                          text=True, env=env, timeout=300)
    result = json.loads(proc.stdout.splitlines()[-1])
    assert proc.returncode == 0 and result["output_shape"] == [4, 10] and result["matches"] is True
    proc = subprocess.run([sys.executable, str(exported / "tvm" / "run_tvm.py"), "--batch", "3"], capture_output=True,
                          text=True, env=env, timeout=300)
    assert proc.returncode != 0 and "--batch-sizes" in proc.stderr  # says how to get that library


def test_exported_weights_are_the_onnx_network(exported):
    model = load_exported_model(exported / "weights.pt")
    x = np.load(exported / "sample_input.npy")
    with torch.no_grad():
        logits = model(torch.from_numpy(x)).numpy()
    assert np.abs(logits - np.load(exported / "sample_output.npy")).max() < 1e-4


@pytest.mark.slow  # runs zigzag-dse on every exported layer
def test_exported_zigzag_files_reproduce_codesigns_zigzag_numbers(exported):
    proc = subprocess.run([sys.executable, str(exported / "accelerator" / "zigzag" / "run_zigzag.py")],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout.splitlines()[-1])
    from accel_models.zigzag_backend import evaluate_zigzag
    from codesign.candidate import Candidate
    from codesign.workload.from_arch import arch_workload

    card = json.loads((exported / "model_card.json").read_text())
    cand = Candidate.from_string(card["candidate"])
    rep = evaluate_zigzag(arch_workload(cand.arch), cand.accel)   # cached by the export's --zigzag
    mac = [lay for lay in rep.layers if lay.source == "zigzag"]
    assert got["cycles"] == pytest.approx(sum(lay.cycles for lay in mac), rel=1e-6)
    assert got["energy_pj"] == pytest.approx(sum(sum(lay.energy_pj.values()) for lay in mac), rel=1e-6)


def test_knee_is_the_balanced_point_of_the_front():
    front = np.array([[0.0, 1.0], [0.45, 0.5], [0.5, 0.45], [1.0, 0.0], [0.9, 0.05]])
    assert knee_index(front) == 1                       # first of the two equally balanced points
    assert knee_index(np.array([[2.0, 5.0]])) == 0


def test_pick_names_extremes_and_trial_numbers():
    objs = [Objective("accuracy", "maximize", 0.0), Objective("latency_ms", "minimize", 1.0, "log")]
    rows = [{"trial": 0, "state": "COMPLETE", "on_front": True, "accuracy": 0.9, "latency_ms": 0.5},
            {"trial": 1, "state": "COMPLETE", "on_front": True, "accuracy": 0.6, "latency_ms": 0.05},
            {"trial": 2, "state": "FAIL", "on_front": False, "accuracy": None, "latency_ms": None, "error": "boom"},
            {"trial": 3, "state": "COMPLETE", "on_front": False, "accuracy": 0.5, "latency_ms": 0.6}]
    assert pick_row(rows, objs, "max-accuracy")[0]["trial"] == 0
    assert pick_row(rows, objs, "min-latency")[0]["trial"] == 1
    row, why = pick_row(rows, objs, "3")
    assert row["trial"] == 3 and "not on the Pareto front" in why
    with pytest.raises(ValidationError, match="trial 2 did not complete.*boom"):
        pick_row(rows, objs, "2")
    with pytest.raises(ValidationError, match="--pick.*expected one of knee"):
        pick_row(rows, objs, "fastest")
    with pytest.raises(ValidationError, match="trial 9 is not in this run"):
        pick_row(rows, objs, "9")
    with pytest.raises(ValidationError, match="energy_mj"):
        pick_row(rows, objs, "min-energy")


def test_export_never_writes_outside_its_directory_or_over_other_files(tmp_path):
    root = tmp_path / "bundle"
    root.mkdir()
    for bad in ("../escape.txt", "a/../../escape.txt", "/etc/passwd", ""):
        with pytest.raises(ValidationError):
            inside(root, bad)
    (root / "sub").mkdir()
    os.symlink(tmp_path, root / "sub" / "link")
    with pytest.raises(ValidationError, match="outside the export directory"):
        inside(root, "sub/link/escape.txt")
    assert inside(root, "tvm/model.so") == (root / "tvm" / "model.so").resolve()
    keep = tmp_path / "notes"
    keep.mkdir()
    (keep / "mine.txt").write_text("precious")
    for force in (False, True):                               # --force is never offered where it cannot help
        with pytest.raises(ValidationError, match="not a codesign export") as err:
            prepare_out_dir(keep, force=force)
        assert "pass --force" not in str(err.value)
    assert (keep / "mine.txt").read_text() == "precious"


def test_export_cli_errors_are_clear_and_leave_no_partial_bundle(smoke_run, exported, tmp_path, capsys):
    assert main(["export", str(smoke_run), "--pick", "fastest", "--out", str(tmp_path / "x")]) == 2
    assert "--pick" in capsys.readouterr().err
    assert main(["export", str(smoke_run), "--out", str(exported)]) == 2          # a previous export: needs --force
    assert "--force" in capsys.readouterr().err
    assert main(["export", str(tmp_path), "--out", str(tmp_path / "y")]) == 2
    assert "not a search run directory" in capsys.readouterr().err
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_the_tvm_library_can_be_built_for_a_raspberry_pi(tmp_path):
    import shutil

    from codesign import ArchConfig
    from codesign.export.bundle import _tvm_library
    from codesign.workload.model_builder import build_model

    if shutil.which("aarch64-linux-gnu-g++") is None:
        pytest.skip("the aarch64 cross compiler is not installed (Debian: apt-get install g++-aarch64-linux-gnu)")
    model = build_model(ArchConfig.from_string("net_r16_i3_n10:stem_k3_c8_s1:ibn_k3_e3_c8_s1:head_c16"), seed=0)
    info = _tvm_library(tmp_path, tmp_path, 4, 0, model, "llvm -mtriple=aarch64-linux-gnu -mattr=+neon",
                        "aarch64-linux-gnu-g++")
    header = (tmp_path / "tvm" / "model.so").read_bytes()[:20]
    assert info["cross_compiled"] and int.from_bytes(header[18:20], "little") == 183    # EM_AARCH64
    with pytest.raises(ValidationError, match="tuning"):
        _tvm_library(tmp_path, tmp_path, 4, 8, model, "llvm -mtriple=aarch64-linux-gnu", "aarch64-linux-gnu-g++")


def test_export_writes_a_calibrated_int8_model_that_agrees_with_the_float_one(exported):
    card = json.loads((exported / "model_card.json").read_text())
    q = card["int8"]
    assert q["file"] == "model_int8.onnx" and (exported / "model_int8.onnx").is_file()
    assert q["format"] == "QDQ" and q["quantize_nodes"] > 0 and q["calib_images"] > 0
    assert q["top1_agreement_with_float"] >= 0.9 and abs(q["test_accuracy"] - q["float_test_accuracy"]) < 0.1
    assert "onnxruntime int8" in card["measured_on_host"]
    ops = {n.op_type for n in __import__("onnx").load(str(exported / "model_int8.onnx")).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    sess = ort.InferenceSession(str(exported / "model_int8.onnx"), providers=["CPUExecutionProvider"])
    x = np.load(exported / "sample_input.npy")
    assert sess.run(None, {"input": x})[0].shape == (1, 10)
    tvm = q["tvm"]
    assert tvm.get("file") == "tvm/model_int8.so" or "TVM cannot compile" in tvm.get("error", "")
    md = (exported / "model_card.md").read_text()
    assert "## int8 model" in md and "model_int8.onnx" in md


@pytest.mark.slow
def test_a_graph_the_quantizer_cannot_handle_keeps_the_float_export(smoke_run, tmp_path, monkeypatch):
    from codesign.errors import CodesignError
    import codesign.export.int8 as int8

    def broken(float_path, out_path, calib, per_channel=True):
        raise CodesignError(f"{float_path}: onnxruntime's quantizer cannot quantize this graph: node Conv_3")

    monkeypatch.setattr(int8, "quantize_onnx_int8", broken)
    out = tmp_path / "b"
    assert main(["export", str(smoke_run), "--pick", "knee", "--out", str(out)]) == 0
    card = json.loads((out / "model_card.json").read_text())
    assert card["int8"]["file"] is None and "Conv_3" in card["int8"]["error"]
    assert (out / "model.onnx").is_file() and not (out / "model_int8.onnx").exists()
    assert "Not written" in (out / "model_card.md").read_text()
