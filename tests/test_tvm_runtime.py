"""TVM: compile for this host, export a library that runs in a fresh process, measure over RPC."""
import subprocess
import sys

import numpy as np
import pytest

from codesign import ArchConfig, UnsupportedOpError
from codesign.workload.onnx_export import export_onnx
from latency_predictors.ort_runtime import ort_session
from codesign.errors import ValidationError
from latency_predictors.tvm_runtime import (TvmError, compile_model, export_library, host_target, measure_tvm,
                                            parse_target, start_rpc_server, untuned_tasks)

NET = ArchConfig.from_string("net_r32_i3_n10:stem_k3_c16_s1_hswish:ibn_k3_e1_c16_s1:ibn_k5_e6_c24_s2_se0.25:head_c64")


@pytest.fixture(scope="module")
def onnx_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("tvm") / "net.onnx"
    export_onnx(NET, path)
    return path


def test_exported_library_runs_in_a_fresh_process_like_onnxruntime(onnx_path, tmp_path):
    lib = export_library(compile_model(onnx_path), tmp_path / "net.so")
    x = np.random.default_rng(0).standard_normal((1, 3, 32, 32)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    code = ("import numpy as np, sys; from latency_predictors.tvm_runtime import run_library; "
            f"np.save(r'{tmp_path / 'y.npy'}', run_library(r'{lib}', np.load(r'{tmp_path / 'x.npy'}')))")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)
    want = ort_session(onnx_path).run(None, {"input": x})[0]
    assert np.abs(np.load(tmp_path / "y.npy") - want).max() <= 1e-4


def test_measure_locally_and_through_an_rpc_server_on_loopback(onnx_path):
    local = measure_tvm(onnx_path, repeats=5, min_repeat_ms=5)
    assert local.median_ms > 0 and local.env["runtime"] == "tvm" and local.env["device"] == "local"
    server = start_rpc_server(port=9320, port_end=9420)
    try:
        remote = measure_tvm(onnx_path, repeats=5, min_repeat_ms=5, rpc=f"127.0.0.1:{server.port}")
    finally:
        server.terminate()
    assert remote.median_ms > 0 and remote.env["device"] == f"127.0.0.1:{server.port}"
    assert 0.2 < remote.median_ms / local.median_ms < 5  # same CPU, same library


def test_rpc_errors_are_clear(onnx_path):
    with pytest.raises(TvmError, match="does not answer"):
        measure_tvm(onnx_path, rpc="127.0.0.1:9")
    with pytest.raises(Exception, match="HOST:PORT"):
        measure_tvm(onnx_path, rpc="localhost")


PI4 = "llvm -mtriple=aarch64-linux-gnu -mattr=+neon"


def test_a_raspberry_pi_library_is_cross_compiled_for_aarch64(onnx_path, tmp_path):
    import shutil

    if shutil.which("aarch64-linux-gnu-g++") is None:
        pytest.skip("the aarch64 cross compiler is not installed (Debian: apt-get install g++-aarch64-linux-gnu)")
    lib = export_library(compile_model(onnx_path, threads=4, target=parse_target(PI4, 4)), tmp_path / "pi.so",
                         cc="aarch64-linux-gnu-g++")
    header = lib.read_bytes()[:20]
    assert header[:4] == b"\x7fELF" and int.from_bytes(header[18:20], "little") == 183   # e_machine: EM_AARCH64


def test_cross_targets_are_parsed_and_misuse_is_a_clear_error(onnx_path):
    assert str(parse_target(PI4).attrs["mtriple"]) == "aarch64-linux-gnu"
    with pytest.raises(ValidationError, match="-key=value"):
        parse_target("llvm mtriple")
    with pytest.raises(ValidationError, match="give --rpc"):
        measure_tvm(onnx_path, target=PI4)
    with pytest.raises(ValidationError, match="not found on PATH"):
        export_library(compile_model(onnx_path), "/tmp/never.so", cc="no-such-g++")


def test_an_op_tvm_cannot_import_is_named():
    from onnx import TensorProto, helper

    node = helper.make_node("FancyAct", ["x"], ["y"], domain="com.example")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)])
    with pytest.raises((UnsupportedOpError, TvmError), match="FancyAct"):
        compile_model(model)


@pytest.mark.slow
def test_metaschedule_tuning_runs_and_its_database_is_reused(tmp_path):
    tiny = ArchConfig.from_string("net_r16_i3_n10:stem_k3_c8_s1:ibn_k3_e3_c8_s1:head_c16")
    model = export_onnx(tiny)
    db = tmp_path / "db"
    first = measure_tvm(model, tune_trials=16, db_dir=db, repeats=5, min_repeat_ms=5)
    assert first.median_ms > 0 and any(db.glob("*.json"))
    # the budget reached every kernel (it once all went to the first of them)
    assert untuned_tasks(model, host_target(1), db) == []
    import time

    t = time.perf_counter()
    measure_tvm(model, tune_trials=16, db_dir=db, repeats=5, min_repeat_ms=5)  # every kernel already tuned
    assert time.perf_counter() - t < 60
