import json

import pytest
import yaml
from hypothesis import given

from codesign import ArchConfig, DecodeError, ValidationError
from strategies import archs

MNASNET_LIKE = ("net_r32_i3_n10:stem_k3_c16_s1:ibn_k3_e1_c16_s1:ibn_k5_e6_c24_s2,ibn_k3_e3_c24_s1_se0.25:"
                "fused_ibn_k3_e3_c40_s2_hswish:head_c256")


@given(archs())
def test_string_round_trips_exactly(arch):
    text = arch.to_string()
    assert ArchConfig.from_string(text) == arch
    assert ArchConfig.from_string(text).to_string() == text


@given(archs())
def test_dict_json_and_yaml_round_trip(arch):
    assert ArchConfig.from_dict(json.loads(json.dumps(arch.to_dict()))) == arch
    assert ArchConfig.from_dict(yaml.safe_load(yaml.safe_dump(arch.to_dict()))) == arch


def test_a_readable_string_decodes_to_the_network_it_says():
    arch = ArchConfig.from_string(MNASNET_LIKE)
    assert arch.depth == 4 and len(arch.stages) == 3
    blk = arch.stages[1][1]
    assert (blk.type, blk.kernel, blk.expansion, blk.channels, blk.stride, blk.se) == ("ibn", 3, 3, 24, 1, 0.25)
    assert arch.stages[2][0].type == "fused_ibn" and arch.stages[2][0].activation == "hswish"
    assert arch.key == MNASNET_LIKE


@pytest.mark.parametrize("bad, named", [
    (MNASNET_LIKE.replace("ibn_k3_e1_c16_s1", "ibn_k3_e1_c16_s1_x9"), "`x9`"),
    (MNASNET_LIKE.replace("ibn_k3_e1", "mbconv_k3_e1"), "`mbconv`"),
    (MNASNET_LIKE.replace("_k5_", "_k4_"), "kernel"),
    (MNASNET_LIKE.replace("head_c256", "head_c256_gelu"), "`gelu`"),
    (MNASNET_LIKE.replace("_se0.25", "_se.25"), "`se.25`"),
    (MNASNET_LIKE.replace("_se0.25", "_se0.250"), "canonical"),
    (MNASNET_LIKE.replace("_se0.25", "_se0"), "se"),
    (MNASNET_LIKE.replace("ibn_k3_e1_c16_s1", "ibn_k3_c16_e1_s1"), "canonical"),
    (MNASNET_LIKE.replace("c24_s2", "c24_s2_s2"), "twice"),
    (MNASNET_LIKE.replace("_e6_", "_e2.5_"), "whole number"),
    ("net_r32_i3_n10:stem_k3_c16_s1:head_c256", "part"),
    ("net_r8_i3_n10:stem_k3_c16_s2:ibn_k3_e1_c16_s2,ibn_k3_e1_c16_s2,ibn_k3_e1_c16_s2:head_c256", "total stride"),
    ("", "non-empty"),
])
def test_malformed_strings_are_errors_naming_the_token(bad, named):
    with pytest.raises(DecodeError) as exc:
        ArchConfig.from_string(bad)
    assert named in str(exc.value)


def test_dict_errors_list_every_problem_with_its_path():
    data = ArchConfig.from_string(MNASNET_LIKE).to_dict()
    data["stages"][0][0]["kernel"] = 4
    data["stages"][1][1]["stride"] = 3
    data["stages"][1][0]["colour"] = "red"
    with pytest.raises(ValidationError) as exc:
        ArchConfig.from_dict(data, source="arch.yaml")
    msg = str(exc.value)
    assert "arch.yaml:stages[0][0].kernel" in msg and "arch.yaml:stages[1][1].stride" in msg
    assert "unknown key `colour`" in msg
    assert len(exc.value.problems) == 3
