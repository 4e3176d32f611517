"""The zigzag-dse adapter and the Timeloop specification writer."""
import os
import stat
from dataclasses import replace

import pytest
import yaml

from accel_models import zigzag_backend
from accel_models.registry import evaluate
from accel_models.timeloop_backend import TimeloopUnavailable, write_spec
from accel_models.zigzag_backend import ZigzagCache, accelerator_yaml
from codesign import AccelConfig, ArchConfig, arch_workload
from codesign.hw_files import resolve_accel
from codesign.layer import Layer

SMALL_NET = ArchConfig.from_string("net_r16_i3_n10:stem_k3_c8_s2:ibn_k3_e3_c16_s2_se0.25:head_c32")
SMALL_HW = AccelConfig(pe_rows=8, pe_cols=8, macs_per_pe=2, rf_bytes_per_pe=256, global_buffer_bytes=64 * 1024,
                       dram_bw_bytes_per_cycle=16, dataflow="output_stationary")


def test_generated_accelerator_passes_zigzags_own_validator():
    from zigzag.parser.accelerator_validator import AcceleratorValidator

    for accel in (SMALL_HW, resolve_accel("simba_like"), resolve_accel("eyeriss_like")):
        data = accelerator_yaml(accel)
        assert list(data["memories"])[0].startswith("rf_") and list(data["memories"])[-1] == "dram"
        validator = AcceleratorValidator(data)
        assert validator.validate(), validator.validator.errors


def test_zigzag_backend_costs_a_network_and_caches_each_layer(tmp_path, monkeypatch):
    monkeypatch.setenv("CODESIGN_CACHE", str(tmp_path))
    workload = arch_workload(SMALL_NET)
    zz = evaluate(workload, SMALL_HW, backend="zigzag")
    ana = evaluate(workload, SMALL_HW, backend="analytical")
    assert [l.name for l in zz.layers] == [l.name for l in workload]
    for z, a in zip(zz.layers, ana.layers):
        assert z.latency_ms > 0 and z.energy_total_pj > 0
        if z.source == "zigzag":
            assert z.energy_pj["dram"] > 0 and z.energy_pj["mac"] == pytest.approx(a.energy_pj["mac"])
            assert 1 / 4 < z.cycles / a.cycles < 4, (z, a)  # the two models agree within a factor of 4 per layer
        else:
            assert z == a  # non-conv layers: the analytical vector model, said so in the report
    assert any("analytical vector model" in n for n in zz.notes)

    def no_zigzag(*args, **kwargs):
        raise AssertionError("ZigZag ran although every layer was cached")

    monkeypatch.setattr(zigzag_backend, "run_zigzag_layer", no_zigzag)
    again = evaluate(workload, SMALL_HW, backend="zigzag")
    assert again.latency_ms == pytest.approx(zz.latency_ms)


def test_zigzag_and_the_analytical_model_agree_on_a_first_convolution_mapped_by_its_filter_taps(tmp_path):
    stem = Layer("conv", "relu", 1, 64, 3, 56, 56, r=7, s=7, stride_h=2, stride_w=2, h_in=112, w_in=112)
    base = AccelConfig(pe_rows=8, pe_cols=8, macs_per_pe=16, rf_bytes_per_pe=512, global_buffer_bytes=256 * 1024,
                       dram_bw_bytes_per_cycle=8, clock_mhz=500)
    cycles = {}
    for dataflow in ("weight_stationary", "weight_stationary_flex"):
        accel = replace(base, dataflow=dataflow)
        zz = zigzag_backend.run_zigzag_layer(stem, accel, tmp_path)
        ana = evaluate([stem], accel, backend="analytical").layers[0]
        assert zz["cycles"] == pytest.approx(ana.cycles, rel=0.1)
        cycles[dataflow] = zz["cycles"]
    assert cycles["weight_stationary_flex"] < cycles["weight_stationary"] / 2  # filter rows fill the PE rows


def test_zigzag_cache_survives_a_corrupt_file(tmp_path):
    cache = ZigzagCache(tmp_path)
    layer = arch_workload(SMALL_NET)[0]
    cache.put(layer, SMALL_HW, {"cycles": 1.0, "energy_pj": {"mac": 1.0}, "utilization": 0.5})
    assert cache.get(layer, SMALL_HW)["cycles"] == 1.0
    next(tmp_path.glob("*.json")).write_text("{trunc")
    assert cache.get(layer, SMALL_HW) is None  # re-evaluated, never a crash


def test_timeloop_spec_files_parse_and_hold_the_layer_dimensions(tmp_path):
    workload = arch_workload(SMALL_NET)
    problems = write_spec(workload, resolve_accel("eyeriss_like"), tmp_path)
    mac_layers = [l for l in workload if l.op in ("conv", "depthwise", "pointwise", "fc")]
    assert len(problems) == len(mac_layers)
    for path, layer in zip(problems, mac_layers):
        inst = yaml.safe_load(path.read_text())["problem"]["instance"]
        assert inst["G"] * inst["M"] == layer.k and inst["G"] * inst["C"] == layer.c
        assert (inst["P"], inst["Q"], inst["R"], inst["S"], inst["Hstride"]) == (layer.p, layer.q, layer.r, layer.s,
                                                                                 layer.stride_h)
        assert inst["G"] * inst["C"] * inst["M"] * inst["R"] * inst["S"] * inst["P"] * inst["Q"] * inst["N"] \
            == layer.macs
    dw = next(l for l in mac_layers if l.op == "depthwise")
    dw_inst = yaml.safe_load(problems[mac_layers.index(dw)].read_text())["problem"]["instance"]
    assert (dw_inst["C"], dw_inst["M"], dw_inst["G"]) == (1, 1, dw.groups)
    arch = yaml.safe_load((tmp_path / "arch.yaml").read_text())["architecture"]
    pe = arch["subtree"][0]["subtree"][0]["subtree"][0]
    assert pe["name"] == "PE[0..167]"  # eyeriss-like: 12 x 14
    cons = yaml.safe_load((tmp_path / "constraints.yaml").read_text())["mapspace_constraints"]["targets"]
    assert cons[0]["permutation"].startswith("PR")  # row stationary: output rows across, filter rows down
    ert = yaml.safe_load((tmp_path / "ERT.yaml").read_text())["ERT"]["tables"]
    assert {t["name"] for t in ert} >= {"DRAM", "GlobalBuffer", "RF_I1", "RF_I2", "RF_O", "MAC"}


def test_timeloop_without_its_binary_says_so_plainly(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(TimeloopUnavailable, match=r"not on PATH.*written to"):
        evaluate(arch_workload(SMALL_NET), SMALL_HW, backend="timeloop")


def test_timeloop_results_are_read_back_when_the_mapper_runs(tmp_path, monkeypatch):
    """A stand-in `timeloop-mapper` (this machine has none) writes a stats summary in Timeloop's
    format; the backend must run it once per conv/fc layer and read cycles and energy back."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "timeloop-mapper"
    fake.write_text("#!/bin/sh\nprintf 'Summary Stats\\n-------------\\nCycles: 1000\\nEnergy: 2.5 uJ\\n' "
                    "> timeloop-mapper.stats.txt\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    rep = evaluate(arch_workload(SMALL_NET), SMALL_HW, backend="timeloop")
    timeloop_layers = [l for l in rep.layers if l.source == "timeloop"]
    assert timeloop_layers and all(l.cycles == 1000 and l.energy_total_pj == pytest.approx(2.5e6)
                                   for l in timeloop_layers)


def test_zigzag_reports_an_unmappable_layer_clearly(tmp_path, monkeypatch):
    monkeypatch.setenv("CODESIGN_CACHE", str(tmp_path))
    bad = replace(SMALL_HW, rf_bytes_per_pe=16)
    with pytest.raises(Exception, match="rf_bytes_per_pe"):
        evaluate(arch_workload(SMALL_NET), bad, backend="zigzag")
