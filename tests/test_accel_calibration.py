"""Calibrating an accelerator template to measurements of the real chip, as a hardware designer would."""
from dataclasses import replace

import numpy as np
import pytest
from scipy.stats import spearmanr

from accel_models.analytical_backend import evaluate_batch
from codesign.accel import AccelConfig, Calibration
from codesign.cli.main import main
from codesign.errors import DecodeError, ValidationError
from codesign.hw_files import resolve_accel
from codesign.spaces import ArchSpace
from codesign.workload.from_arch import arch_workload

# the "real chip": the template with efficiencies the designer does not know
HIDDEN = Calibration(efficiency_conv=0.7, efficiency_depthwise=0.25, efficiency_pointwise=0.8, efficiency_vector=0.5,
                     dram_bw_efficiency=0.6, layer_overhead_cycles=400.0)


def networks(n, seed):
    space, rng = ArchSpace.resolve("ibn_32_compact"), np.random.default_rng(seed)
    return [space.sample(rng) for _ in range(n)]


def chip_ms(accel, archs):
    return evaluate_batch([arch_workload(a) for a in archs], [replace(accel, calibration=HIDDEN)]).latency_ms


def test_a_calibrated_string_and_yaml_round_trip(tmp_path):
    accel = replace(resolve_accel("eyeriss_like"), calibration=HIDDEN)
    assert "_cal0.7-0.25-0.8-1-0.5-0.6-1-400" in accel.key
    assert AccelConfig.from_string(accel.key) == accel
    (tmp_path / "a.yaml").write_text(accel.to_yaml(name="chip"))
    assert AccelConfig.from_yaml(tmp_path / "a.yaml") == accel
    assert "calibration" not in resolve_accel("eyeriss_like").to_yaml()    # uncalibrated templates are unchanged


def test_bad_calibration_terms_name_the_field(tmp_path):
    text = resolve_accel("eyeriss_like").to_yaml() + "calibration: {efficiency_depthwise: 0, overhead: 3}\n"
    (tmp_path / "bad.yaml").write_text(text)
    with pytest.raises(ValidationError) as err:
        AccelConfig.from_yaml(tmp_path / "bad.yaml")
    assert "calibration.efficiency_depthwise" in str(err.value) and "unknown key `overhead`" in str(err.value)
    with pytest.raises(DecodeError, match="calibration token"):
        AccelConfig.from_string(resolve_accel("eyeriss_like").key + "_cal1-2")


def test_ten_measurements_calibrate_a_template_that_still_scales_with_the_array(tmp_path, capsys):
    template = resolve_accel("eyeriss_like")
    train, held_out = networks(10, 0), networks(30, 1)
    csv = tmp_path / "rtl.csv"
    csv.write_text("# device: chip-rtl\nnetwork,latency_ms\n" + "".join(
        f"{a.to_string()},{ms:.6f}\n" for a, ms in zip(train, chip_ms(template, train))))
    assert main(["hw", "calibrate", "eyeriss_like", str(csv), "--out", str(tmp_path / "chip.yaml")]) == 0
    assert "leave-one-out" in capsys.readouterr().out
    calibrated = AccelConfig.from_yaml(tmp_path / "chip.yaml")
    assert not calibrated.calibration.is_ideal
    for rows, cols in ((template.pe_rows, template.pe_cols), (8, 8), (24, 24)):   # calibrated at the first only
        setting = replace(template, pe_rows=rows, pe_cols=cols)
        truth = chip_ms(setting, held_out)
        pred = evaluate_batch([arch_workload(a) for a in held_out], [replace(setting, calibration=calibrated.calibration)]).latency_ms
        ideal = evaluate_batch([arch_workload(a) for a in held_out], [setting]).latency_ms
        assert spearmanr(pred, truth).statistic >= 0.95
        assert np.median(np.abs(pred / truth - 1)) < 0.5 * np.median(np.abs(ideal / truth - 1))


def test_too_few_measurements_is_an_error(tmp_path, capsys):
    csv = tmp_path / "rtl.csv"
    csv.write_text("network,latency_ms\n" + "".join(f"{a.to_string()},1.0\n" for a in networks(2, 0)))
    assert main(["hw", "calibrate", "eyeriss_like", str(csv), "--out", str(tmp_path / "c.yaml")]) == 2
    assert "at least 3 measured networks" in capsys.readouterr().err
    assert not (tmp_path / "c.yaml").exists()
