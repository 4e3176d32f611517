"""Malformed configs, architecture/accelerator/candidate strings, hardware YAML and broken ONNX files, handed
to the loaders and to the CLI the way a user would: every one ends in codesign's own error, naming the
file or input and what was expected — never another exception, never a traceback."""
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fuzz_inputs import KINDS, SLOW_KINDS, DataChooser, make_case, verdict_api, verdict_cli


def _verdict(kind, data, judge):
    with tempfile.TemporaryDirectory() as tmp:
        case = make_case(kind, DataChooser(data), Path(tmp), 0)
        verdict, message = judge(case)
    assert verdict in ("accepted", "clear"), f"{kind}: {verdict}: {message}"


@settings(max_examples=300)
@given(kind=st.sampled_from(KINDS), data=st.data())
def test_malformed_input_to_a_loader_is_a_clear_codesign_error(kind, data):
    _verdict(kind, data, verdict_api)


@settings(max_examples=200)
@given(kind=st.sampled_from(KINDS), data=st.data())
def test_malformed_input_on_the_command_line_exits_2_with_a_message_and_no_traceback(kind, data):
    _verdict(kind, data, verdict_cli)


@settings(max_examples=12)
@given(kind=st.sampled_from(SLOW_KINDS), data=st.data())
def test_broken_onnx_handed_to_tvm_is_a_clear_codesign_error(kind, data):
    pytest.importorskip("tvm")
    _verdict(kind, data, verdict_api)


def test_onnx_names_that_are_not_utf8_are_a_clear_error(tmp_path):
    """Found by the fuzzer: protobuf returns such a name as bytes, which failed far from the file."""
    from fuzz_inputs import Case, onnx_seed

    data = bytearray(onnx_seed())
    data[data.find(b"onnx::Conv_")] = 0x80
    path = tmp_path / "bad_name.onnx"
    path.write_bytes(bytes(data))
    for kind in ("onnx", "onnx_ort"):
        case = Case(kind, bytes(data), path)
        assert verdict_api(case)[0] == "clear" and verdict_cli(case)[0] == "clear"


@settings(max_examples=20)
@given(data=st.data())
def test_check_refuses_every_unusable_data_path_checkpoint_and_phase_accelerator(data):
    """Valid YAML whose data, checkpoint or phase accelerator cannot be used is refused by `--check`,
    naming the file — it is never `accepted` (that would let the run start and every trial fail)."""
    from fuzz_inputs import PREFLIGHT_KIND

    with tempfile.TemporaryDirectory() as tmp:
        case = make_case(PREFLIGHT_KIND, DataChooser(data), Path(tmp), 0)
        for judge in (verdict_api, verdict_cli):
            verdict, message = judge(case)
            assert verdict == "clear", f"{verdict}: {message}"
