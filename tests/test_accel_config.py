import json

import pytest
from hypothesis import given

from codesign import AccelConfig, DecodeError, ValidationError
from codesign.hw_files import hw_configs_dir, resolve_accel, template_names
from strategies import accels


@given(accels())
def test_string_round_trips_exactly(accel):
    text = accel.to_string()
    assert AccelConfig.from_string(text) == accel
    assert AccelConfig.from_string(text).to_string() == text


@given(accel=accels())
def test_yaml_and_json_round_trip(accel, tmp_path_factory):
    path = tmp_path_factory.mktemp("hw") / "accel.yaml"
    path.write_text(accel.to_yaml(name="mine"))
    assert AccelConfig.from_yaml(path) == accel
    assert AccelConfig.from_dict(json.loads(json.dumps(accel.to_dict()))) == accel


def test_shipped_templates_load_through_the_user_validator():
    assert {"edge_tpu_like", "eyeriss_like", "simba_like"} <= set(template_names())
    eyeriss = resolve_accel("eyeriss_like")
    assert (eyeriss.pe_rows, eyeriss.pe_cols, eyeriss.dataflow) == (12, 14, "row_stationary")
    assert eyeriss.global_buffer_bytes == 108 * 1024
    for name in template_names():
        text = (hw_configs_dir() / f"{name}.yaml").read_text()
        assert text.startswith("#"), f"{name}.yaml must start with a comment naming its public source"
        assert resolve_accel(resolve_accel(name).to_string()) == resolve_accel(name)


def test_bad_yaml_lists_every_problem_with_file_and_field(tmp_path):
    path = tmp_path / "x.yaml"
    good = AccelConfig().to_yaml()
    path.write_text(good.replace("pe_rows: 16", "pe_rows: 300").replace("dataflow: weight_stationary",
                                                                          "dataflow: diagonal")
                    + "colour: red\n")
    with pytest.raises(ValidationError) as exc:
        AccelConfig.from_yaml(path)
    msg = str(exc.value)
    assert f"`pe_rows` must be an integer between 1 and 256, got 300 in {path}:pe_rows" in msg
    assert f"{path}:dataflow" in msg and "diagonal" in msg
    assert "unknown key `colour`" in msg
    assert len(exc.value.problems) == 3


@pytest.mark.parametrize("text, expected", [
    ("pe_rows: 4\npe_rows: 8\n", "duplicate key `pe_rows`"),
    ("pe_rows: [4,\n", "malformed YAML"),
    ("- 1\n- 2\n", "must be a mapping"),
    ("pe_rows: '16'\n", "missing required key"),
])
def test_malformed_files_are_clear_errors(tmp_path, text, expected):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ValidationError) as exc:
        AccelConfig.from_yaml(path)
    assert expected in str(exc.value) and str(path) in str(exc.value)


def test_non_utf8_and_missing_files(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ValidationError, match="UTF-8"):
        AccelConfig.from_yaml(path)
    with pytest.raises(ValidationError, match="file not found"):
        AccelConfig.from_yaml(tmp_path / "nope.yaml")


@pytest.mark.parametrize("bad, named", [
    ("pe16x16_m1_rf512_lb0_gb128k_bw16_clk800_ws_p8", "tokens"),
    ("pe16x16_m1_rf512_lb0_gb128k_bw16_clk800_xs_p8_t45nm", "`xs`"),
    ("pe16x16_m1_rf512_lb0_gb131072_bw16_clk800_ws_p8_t45nm", "write `pe16x16_m1_rf512_lb0_gb128k"),
    ("pe16x16_m1_rf512_lb0_gb128k_bw0_clk800_ws_p8_t45nm", "dram_bw_bytes_per_cycle"),
    ("pe16x16_m1_rf512_lb0_gb128k_bw16_clk800_ws_p12_t45nm", "precision_bits"),
])
def test_malformed_accel_strings(bad, named):
    with pytest.raises(DecodeError) as exc:
        AccelConfig.from_string(bad)
    assert named in str(exc.value)
