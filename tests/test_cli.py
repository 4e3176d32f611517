"""The command line as a user types it: exit codes, the last lines, and never a traceback on bad input."""
import json
import subprocess
import sys

import pytest

from codesign import ArchConfig
from codesign.cli.main import main


def run_cli(*args, cwd=None):
    proc = subprocess.run([sys.executable, "-m", "codesign.cli.main", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


def test_help_lists_the_commands():
    code, out, _ = run_cli("--help")
    assert code == 0
    for cmd in ("space", "arch", "hw", "workload"):
        assert cmd in out


def test_space_describe_prints_the_three_sizes(capsys):
    assert main(["space", "describe", "--json"]) == 0
    sizes = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert sizes["joint_log10"] == pytest.approx(sizes["arch_log10"] + sizes["hw_log10"], abs=1e-3)


def test_arch_sample_prints_a_canonical_string_last_and_is_seeded(capsys):
    main(["arch", "sample", "--seed", "42"])
    first = capsys.readouterr().out.strip().splitlines()[-1]
    main(["arch", "sample", "--seed", "42"])
    assert capsys.readouterr().out.strip().splitlines()[-1] == first
    assert ArchConfig.from_string(first).key == first


def test_hw_show_validates_and_prints(capsys, tmp_path):
    assert main(["hw", "show", "simba_like"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("pe4x4_m64")
    bad = tmp_path / "x.yaml"
    bad.write_text("pe_rows: 300\npe_rows: 2\n")
    code, out, err = run_cli("hw", "show", str(bad))
    assert code == 2 and "duplicate key `pe_rows`" in err and "Traceback" not in err


def test_workload_table_for_a_string_and_an_onnx_file(tmp_path, capsys):
    from codesign.workload.onnx_export import export_onnx

    arch = "net_r32_i3_n10:stem_k3_c16_s1:ibn_k3_e1_c16_s1:ibn_k5_e6_c24_s2_se0.25:head_c128"
    assert main(["workload", arch, "--json"]) == 0
    from_string = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    path = tmp_path / "net.onnx"
    export_onnx(ArchConfig.from_string(arch), path)
    assert main(["workload", str(path), "--json"]) == 0
    out = capsys.readouterr().out
    assert "MACs" in out and "total:" in out
    from_file = json.loads(out.strip().splitlines()[-1])
    assert from_file["macs"] == from_string["macs"] and from_file["params"] == from_string["params"]


@pytest.mark.parametrize("args, expected", [
    (["workload", "net_r32_i3_n10:stem_k3_c16_s1:ibn_k9_e1_c16_s1:head_c128"], "kernel"),
    (["workload", "missing.onnx"], "missing.onnx"),
    (["workload", "resnet50"], "expected an architecture string"),
    (["hw", "show", "no_such_template"], "templates:"),
    (["space", "describe", "--arch-space", "nope.yaml"], "nope.yaml: file not found"),
])
def test_bad_input_is_a_message_and_exit_2(args, expected):
    code, out, err = run_cli(*args)
    assert code == 2, (out, err)
    assert expected in err and "Traceback" not in err


def test_evaluate_prints_layers_and_a_json_summary(tmp_path, capsys):
    arch = "net_r32_i3_n10:stem_k3_c16_s1:ibn_k3_e1_c16_s1:ibn_k5_e6_c24_s2_se0.25:head_c128"
    assert main(["evaluate", arch, "--hw", "eyeriss_like", "--json"]) == 0
    out = capsys.readouterr().out
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["backend"] == "analytical" and summary["latency_ms"] > 0 and summary["energy_mj"] > 0
    assert summary["area_mm2"] > 0
    for layer in summary["layers"]:
        assert {"name", "op", "macs", "latency_ms", "energy_pj", "utilization"} <= set(layer)
    assert "total on pe12x14" in out


def test_evaluate_accepts_a_foreign_onnx_cnn(tmp_path, capsys):
    import onnx

    from test_onnx_workload import shufflenet_like_model

    path = tmp_path / "shufflenet_like.onnx"
    onnx.save(shufflenet_like_model(), str(path))
    hw = tmp_path / "mine.yaml"
    hw.write_text(__import__("codesign").AccelConfig().to_yaml(name="mine"))
    assert main(["evaluate", str(path), "--hw", str(hw), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {l["name"] for l in summary["layers"]} >= {"stem", "gconv", "shuffle_transpose", "fc"}
    assert all(l["latency_ms"] > 0 and l["energy_pj"] > 0 for l in summary["layers"])


@pytest.mark.parametrize("args, expected", [
    (["evaluate", "net_r32_i3_n10:stem_k3_c16_s1:ibn_k3_e1_c16_s1:head_c128", "--hw", "nope"], "templates:"),
    (["evaluate", "net_r32_i3_n10:stem_k3_c16_s1:ibn_k3_e1_c16_s1:head_c128", "--hw",
      "pe16x16_m16_rf64_lb0_gb128k_bw16_clk800_ws_p8_t45nm"], "rf_bytes_per_pe"),
    (["evaluate", "net_r32_i3_n10:stem_k3_c16_s1:ibn_k3_e1_c16_s1:head_c128", "--hw",
      "pe16x16_m1_rf512_lb0_gb128k_bw16_clk800_ws_p8_t7nm"], "unknown technology `7nm`"),
])
def test_evaluate_bad_hardware_exits_2(args, expected):
    code, out, err = run_cli(*args)
    assert code == 2 and expected in err and "Traceback" not in err


def test_train_and_supernet_commands(tmp_path):
    arch = "net_r16_i3_n4:stem_k3_c8_s1:ibn_k3_e1_c8_s1:ibn_k5_e3_c12_s2:head_c16"
    code, out, err = run_cli("train", arch, "--data", "synthetic", "--epochs", "2", "--json")
    assert code == 0, err
    res = json.loads(out.strip().splitlines()[-1])
    assert 0 <= res["val_accuracy"] <= 1 and res["images_seen"] > 0
    space = tmp_path / "space.yaml"
    space.write_text("resolution: 16\nnum_classes: 4\nstem: {channels: 8}\nhead: {channels: [16, 24]}\n"
                     "stages:\n  - {stride: 1, depth: 1, channels: 8, expansion: 1}\n"
                     "  - {stride: 2, depth: [1, 2], channels: [12, 16], kernel: [3, 5], expansion: [1, 3]}\n")
    cfg = tmp_path / "supernet.yaml"
    cfg.write_text(f"space: {space}\ndata: synthetic\ntrain: {{steps: 5, batch_size: 16}}\n")
    ckpt = tmp_path / "sn.pt"
    code, out, err = run_cli("supernet", "train", str(cfg), "--out", str(ckpt))
    assert code == 0 and ckpt.exists(), err
    sub = "net_r16_i3_n4:stem_k3_c8_s1:ibn_k3_e1_c8_s1:ibn_k5_e3_c12_s2:head_c16"
    code, out, err = run_cli("supernet", "eval", str(ckpt), sub, "--data", "synthetic", "--json")
    assert code == 0, err
    assert 0 <= json.loads(out.strip().splitlines()[-1])["accuracy"] <= 1
    code, out, err = run_cli("supernet", "eval", str(ckpt), sub.replace("head_c16", "head_c64"), "--data", "synthetic")
    assert code == 2 and "head.channels" in err and "Traceback" not in err
    cfg.write_text("space: ibn_32_compact\ntrain: {steps: -1}\n")
    code, out, err = run_cli("supernet", "train", str(cfg))
    assert code == 2 and "steps" in err


@pytest.mark.slow  # 90 s on 2 cores: measurement and predictors have their own tests in make test
def test_measure_and_predictor_commands(tmp_path):
    arch = "net_r32_i3_n10:stem_k3_c16_s1:ibn_k3_e1_c16_s1:ibn_k5_e6_c24_s2:head_c64"
    code, out, err = run_cli("measure", arch, "--runtime", "ort", "--json")
    assert code == 0, err
    m = json.loads(out.strip().splitlines()[-1])
    assert m["median_ms"] > 0 and m["env"]["threads"] == 1
    code, out, err = run_cli("predictor", "build", "--networks", "6", "--out", str(tmp_path / "pred"))
    assert code == 0, err
    assert all((tmp_path / "pred" / f).exists() for f in ("lut.json", "learned.json", "block_lut.json"))
    code, out, err = run_cli("predictor", "eval", "--dir", str(tmp_path / "pred"), "--networks", "3", "--json")
    assert code == 0, err
    res = json.loads(out.strip().splitlines()[-1])
    assert set(res) == {"block_lut", "lut", "learned"} and 0 <= res["block_lut"]["within_10pct"] <= 1
    code, out, err = run_cli("measure", arch, "--runtime", "ort", "--rpc", "127.0.0.1:9")
    assert code == 2 and "tvm only" in err
    code, out, err = run_cli("measure", arch, "--runtime", "tvm", "--rpc", "127.0.0.1:9")
    assert code == 2 and "does not answer" in err and "Traceback" not in err


def test_shipped_space_names_area_and_worker_count_as_a_new_user_types_them(capsys, tmp_path):
    assert main(["space", "describe", "--arch-space", "ibn_32_compact", "--hw-space", "nahas_like"]) == 0
    assert "ibn_32_compact" in capsys.readouterr().out
    assert main(["hw", "show", "eyeriss_like"]) == 0
    assert "mm²" in capsys.readouterr().out
    assert main(["search", "examples/smoke.yaml", "--out", str(tmp_path / "r"), "--workers", "0"]) == 2
    assert "--workers" in capsys.readouterr().err and not (tmp_path / "r").exists()


def test_an_all_infeasible_search_names_the_constraint_and_the_best_value(tmp_path, capsys):
    from kill_resume import write_config

    config = write_config(tmp_path / "s.yaml", trials=4)
    config.write_text(config.read_text() + "constraints: {area_mm2: {max: 0.001}}\n")
    assert main(["search", str(config), "--out", str(tmp_path / "run"), "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "area_mm2 <= 0.001`: the best trial reached" in captured.err
    assert "setup" in captured.out and "search" in captured.out
