"""Malformed inputs for every loader a user hands a file or string to, and the verdict on each answer.

Shared by ``tests/test_fuzz.py`` (hypothesis drives the choices and shrinks failures) and
``benchmarks/reliability.py`` (a seeded ``random.Random`` drives them, to count thousands of cases).
A *chooser* is anything with ``integer(lo, hi)`` and ``pick(seq)``.

Verdicts: ``accepted`` (the mutated input is still valid and loads), ``clear`` (a ``CodesignError``
whose message names the file or the input and says what was expected; through the CLI: exit code 2,
``codesign: error: …`` on stderr, no traceback), ``unclear`` (a ``CodesignError`` that does not name
its input, or another exit code), ``other`` (any other exception: a bug).
"""
from __future__ import annotations

import contextlib
import copy
import io
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from collections.abc import Callable

import yaml

ROOT = Path(__file__).resolve().parent.parent
SEED_FILES = {
    "search_config": ROOT / "examples" / "smoke.yaml",
    "accelerator": ROOT / "hw_configs" / "eyeriss_like.yaml",
    "hw_space": ROOT / "hw_configs" / "spaces" / "nahas_like.yaml",
    "arch_space": ROOT / "codesign" / "spaces" / "ibn_32_compact.yaml",
}
ARCH = ("net_r32_i3_n10:stem_k3_c16_s1:fused_ibn_k3_e1_c8_s1:ibn_k5_e6_c24_s2_se0.25,ibn_k3_e3_c24_s1_hswish:"
        "ibn_k7_e4_c40_s2:head_c64_swish")
ACCEL = "pe16x16_m1_rf512_lb0_gb128k_bw16_clk800_ws_p8_t45nm"
STRING_SEEDS = {"arch_string": ARCH, "accel_string": ACCEL, "candidate_string": f"{ARCH}@{ACCEL}"}
ONNX_KINDS = ("onnx", "onnx_ort", "onnx_tvm")   # workload extraction, onnxruntime, TVM's importer
#: a valid search configuration whose data, checkpoint or phase accelerator cannot be used: only a
#: preflight (``search --check``, or the start of a run) can tell
PREFLIGHT_KIND = "search_preflight"
KINDS = (*SEED_FILES, PREFLIGHT_KIND, *STRING_SEEDS, "onnx", "onnx_ort")   # fast enough for thousands of cases
SLOW_KINDS = ("onnx_tvm",)                                   # ~1 s per case: tested with fewer examples

WRONG_VALUES: tuple[Any, ...] = (None, -1, 0, 10**12, 3.7, -2.5, "", "x" * 300, "nan", float("nan"), float("inf"),
                                 True, False, [], {}, [1, "a"], {"a": 1}, "64QiB", "1e400", "ÿ€", "../../etc/passwd",
                                 "\x00", 2**63, -(2**63))
ODD_CHARS = ("_", ":", ",", "@", "k", "e", "c", "s", "0", "9", ".", "-", " ", "\t", "\n", "é", "\x00", "ibn",
             "fused_ibn", "se", "99999999999", "_hswish", "_relu6", "net_", "pe", "x", "__")
SAFE_LOADER_ATTACKS = ("!!python/object/apply:os.system ['echo pwned']\n",
                       "a: !!python/object/new:subprocess.Popen [['true']]\n",
                       "a: &x [*x]\n",                      # a self-referencing alias
                       "a: &a [1,2]\nb: [*a,*a,*a,*a,*a,*a,*a,*a]\nc: [*b,*b,*b,*b,*b,*b,*b,*b]\n")
UNSUPPORTED_OPS = ("LSTM", "NonMaxSuppression", "CustomFooOp", "If", "Loop", "TopK", "Einsum", "ConvTranspose")


class RandomChooser:
    """The benchmark's chooser: a seeded ``random.Random``."""

    def __init__(self, seed: int):
        self.r = random.Random(seed)

    def integer(self, lo: int, hi: int) -> int:
        return self.r.randint(lo, hi)

    def pick(self, seq):
        return seq[self.r.randrange(len(seq))]


class DataChooser:
    """The tests' chooser: hypothesis's ``data`` object, so failures shrink."""

    def __init__(self, data):
        from hypothesis import strategies as st

        self.data, self.st = data, st

    def integer(self, lo: int, hi: int) -> int:
        return self.data.draw(self.st.integers(lo, hi))

    def pick(self, seq):
        return self.data.draw(self.st.sampled_from(list(seq)))


# ---- mutations ---------------------------------------------------------------------------------
def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, prefix + (i,))
    return out


def _parent(doc: Any, path: tuple) -> tuple[Any, Any]:
    node = doc
    for key in path[:-1]:
        node = node[key]
    return node, path[-1]


def mutate_structure(doc: Any, ch) -> Any:
    """Delete, replace, add or rename one node of a parsed YAML document."""
    doc = copy.deepcopy(doc)
    paths = [p for p in _paths(doc) if p]
    if not paths:
        return ch.pick(WRONG_VALUES)
    path = ch.pick(paths)
    parent, key = _parent(doc, path)
    how = ch.pick(("delete", "replace", "replace", "add_key", "rename"))
    if how == "delete":
        del parent[key]
    elif how == "replace":
        parent[key] = ch.pick(WRONG_VALUES)
    elif how == "add_key" and isinstance(parent, dict):
        parent[ch.pick(("unknown_field", "pe_row", "populaton", "tiral", "x"))] = ch.pick(WRONG_VALUES)
    elif how == "rename" and isinstance(parent, dict):
        parent[str(key) + ch.pick(("s", "_", "X"))] = parent.pop(key)
    else:
        parent[key] = ch.pick(WRONG_VALUES)
    return doc


def _dump(doc: Any) -> str:
    try:
        return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    except (yaml.YAMLError, ValueError):
        return "{}"


def mutate_text(text: str, ch) -> bytes:
    """Damage YAML text: truncate, duplicate a line (duplicate keys), break indentation, re-encode, …"""
    lines = text.splitlines(keepends=True)
    how = ch.pick(("truncate", "duplicate_line", "indent", "encoding", "garbage", "empty", "attack", "tab",
                   "drop_line", "bom"))
    if how == "truncate":
        return text[: ch.integer(0, max(0, len(text) - 1))].encode()
    if how == "duplicate_line" and lines:
        i = ch.integer(0, len(lines) - 1)
        return "".join(lines[: i + 1] + [lines[i]] + lines[i + 1:]).encode()
    if how == "indent" and lines:
        i = ch.integer(0, len(lines) - 1)
        lines[i] = " " * ch.integer(1, 5) + lines[i]
        return "".join(lines).encode()
    if how == "encoding":
        return ("# é ü\n" + text).encode(ch.pick(("utf-16", "latin-1", "utf-32", "cp1252")))
    if how == "garbage":
        n = ch.integer(1, 64)
        return bytes(ch.integer(0, 255) for _ in range(n))
    if how == "empty":
        return b""
    if how == "attack":
        return ch.pick(SAFE_LOADER_ATTACKS).encode()
    if how == "tab" and lines:
        i = ch.integer(0, len(lines) - 1)
        lines[i] = "\t" + lines[i]
        return "".join(lines).encode()
    if how == "drop_line" and lines:
        del lines[ch.integer(0, len(lines) - 1)]
        return "".join(lines).encode()
    return b"\xef\xbb\xbf" + text.encode()  # a UTF-8 byte-order mark


def yaml_case(kind: str, ch) -> bytes:
    text = SEED_FILES[kind].read_text()
    if ch.integer(0, 2) == 0:
        return mutate_text(text, ch)
    doc = yaml.safe_load(text)
    for _ in range(ch.integer(1, 3)):
        doc = mutate_structure(doc, ch)
    return _dump(doc).encode()


def preflight_case(ch, tmp: Path) -> bytes:
    """The smoke configuration with one thing only a preflight catches: a data path that does not load,
    a supernet checkpoint that is missing or not a checkpoint, or a phase-mode accelerator that does not
    exist or breaks the area budget."""
    doc = yaml.safe_load(SEED_FILES["search_config"].read_text())
    garbage = tmp / "garbage.bin"
    garbage.write_bytes(b"\x00not a checkpoint\xff" * 8)
    what = ch.integer(0, 2)
    if what == 0:
        doc["data"] = {"name": ch.pick(("cifar10", "folder")),
                       "path": ch.pick((str(tmp / "no_such_dir"), str(garbage), str(tmp)))}
    elif what == 1:
        doc["accuracy"]["checkpoint"] = ch.pick((str(tmp / "missing.pt"), str(garbage)))
    else:
        doc["mode"] = "phase"
        doc["space"]["phase_accelerator"] = ch.pick(("edge_tpu_like", "no_such_template",
                                                     "pe64x64_m16_rf1k_lb0_gb4M_bw64_clk800_ws_p8_t45nm"))
    return _dump(doc).encode()


def string_case(kind: str, ch) -> str:
    s = STRING_SEEDS[kind]
    for _ in range(ch.integer(1, 3)):
        how = ch.pick(("insert", "delete", "replace", "truncate", "duplicate", "number"))
        i = ch.integer(0, max(0, len(s) - 1))
        if how == "insert":
            s = s[:i] + ch.pick(ODD_CHARS) + s[i:]
        elif how == "delete":
            s = s[:i] + s[i + ch.integer(1, 6):]
        elif how == "replace":
            s = s[:i] + ch.pick(ODD_CHARS) + s[i + 1:]
        elif how == "truncate":
            s = s[:i]
        elif how == "duplicate":
            j = ch.integer(i, len(s))
            s = s[:j] + s[i:j] + s[j:]
        else:
            digits = [k for k, c in enumerate(s) if c.isdigit()]
            if digits:
                k = ch.pick(digits)
                s = s[:k] + str(ch.pick((0, 1, 2, 4, 7, 13, 10**6, 10**30))) + s[k + 1:]
    return s


_ONNX_SEED: bytes | None = None


def onnx_seed() -> bytes:
    """A small real model of the default space, exported by codesign (cached)."""
    global _ONNX_SEED
    if _ONNX_SEED is None:
        from codesign.arch import ArchConfig
        from codesign.workload.onnx_export import export_onnx

        _ONNX_SEED = export_onnx(ArchConfig.from_string(ARCH)).SerializeToString()
    return _ONNX_SEED


def onnx_case(ch) -> bytes:
    import onnx

    data = onnx_seed()
    how = ch.pick(("truncate", "flip", "op", "op", "no_shapes", "no_initializer", "opset", "dtype", "dangling",
                   "empty", "garbage", "no_graph_input"))
    if how == "truncate":
        return data[: ch.integer(0, len(data) - 1)]
    if how == "flip":
        b = bytearray(data)
        for _ in range(ch.integer(1, 16)):
            b[ch.integer(0, len(b) - 1)] = ch.integer(0, 255)
        return bytes(b)
    if how == "empty":
        return b""
    if how == "garbage":
        return bytes(ch.integer(0, 255) for _ in range(ch.integer(1, 256)))
    m = onnx.load_from_string(data)
    if how == "op":
        node = m.graph.node[ch.integer(0, len(m.graph.node) - 1)]
        node.op_type = ch.pick(UNSUPPORTED_OPS)
    elif how == "no_shapes":
        del m.graph.value_info[:]
        for t in list(m.graph.input) + list(m.graph.output):
            for d in t.type.tensor_type.shape.dim:
                d.dim_param = ch.pick(("N", "H", "?"))
    elif how == "no_initializer" and len(m.graph.initializer):
        del m.graph.initializer[ch.integer(0, len(m.graph.initializer) - 1)]
    elif how == "opset":
        m.opset_import[0].version = ch.pick((1, 5, 99, 0))
    elif how == "dtype":
        m.graph.input[0].type.tensor_type.elem_type = ch.pick((onnx.TensorProto.STRING, onnx.TensorProto.INT8,
                                                               onnx.TensorProto.BOOL, 0))
    elif how == "dangling":
        node = m.graph.node[ch.integer(0, len(m.graph.node) - 1)]
        if node.input:
            node.input[0] = "does_not_exist"
    elif how == "no_graph_input":
        del m.graph.input[:]
    return m.SerializeToString()


# ---- running a case ----------------------------------------------------------------------------
@dataclass
class Case:
    kind: str
    payload: bytes | str
    path: Path | None = None     # where a file payload was written

    @property
    def label(self) -> str:
        return str(self.path) if self.path is not None else str(self.payload)


def make_case(kind: str, ch, tmp: Path, n: int) -> Case:
    if kind in SEED_FILES:
        path = tmp / f"case{n}_{kind}.yaml"
        path.write_bytes(yaml_case(kind, ch))
        return Case(kind, path.read_bytes(), path)
    if kind == PREFLIGHT_KIND:
        path = tmp / f"case{n}_{kind}.yaml"
        path.write_bytes(preflight_case(ch, tmp))
        return Case(kind, path.read_bytes(), path)
    if kind in STRING_SEEDS:
        return Case(kind, string_case(kind, ch))
    path = tmp / f"case{n}_{kind}.onnx"
    path.write_bytes(onnx_case(ch))
    return Case(kind, path.read_bytes(), path)


def _load_search_config(path: Path, preflight: bool = False) -> None:
    from codesign.search.config import SearchConfig
    from codesign.search.loop import joint_space, resolved_config

    cfg = SearchConfig.from_yaml(path)
    joint = joint_space(cfg)
    resolved_config(cfg, joint)
    if preflight:
        from codesign.search.preflight import preflight as check_before_first_trial
        check_before_first_trial(cfg, joint)


def _loaders() -> dict[str, Callable[[Case], Any]]:
    from codesign.accel import AccelConfig
    from codesign.arch import ArchConfig
    from codesign.candidate import Candidate
    from codesign.workload.onnx_graph import workload_from_onnx
    from codesign.spaces.arch_space import ArchSpace
    from codesign.spaces.hw_space import HwSpace
    from latency_predictors.ort_runtime import measure_ort
    from latency_predictors.tvm_runtime import import_onnx

    return {"search_config": lambda c: _load_search_config(c.path),
            PREFLIGHT_KIND: lambda c: _load_search_config(c.path, preflight=True),
            "accelerator": lambda c: AccelConfig.from_yaml(c.path),
            "hw_space": lambda c: HwSpace.from_yaml(c.path),
            "arch_space": lambda c: ArchSpace.from_yaml(c.path),
            "arch_string": lambda c: ArchConfig.from_string(c.payload),
            "accel_string": lambda c: AccelConfig.from_string(c.payload),
            "candidate_string": lambda c: Candidate.from_string(c.payload),
            "onnx": lambda c: workload_from_onnx(c.path),
            "onnx_ort": lambda c: measure_ort(c.path, warmup=1, repeats=3, max_attempts=1),
            "onnx_tvm": lambda c: import_onnx(c.path)}


def cli_argv(case: Case) -> list[str]:
    """The command a user would type to hand this input to codesign."""
    return {"search_config": ["search", str(case.path), "--check"],
            PREFLIGHT_KIND: ["search", str(case.path), "--check"],
            "accelerator": ["hw", "show", str(case.path)],
            "hw_space": ["space", "describe", "--hw-space", str(case.path)],
            "arch_space": ["space", "describe", "--arch-space", str(case.path)],
            "arch_string": ["workload", str(case.payload)],
            "accel_string": ["evaluate", ARCH, "--hw", str(case.payload)],
            "candidate_string": ["evaluate", *str(case.payload).split("@", 1)[:1], "--hw",
                                 *(str(case.payload).split("@", 1)[1:] or ["?"])],
            "onnx": ["workload", str(case.path)],
            "onnx_ort": ["measure", str(case.path), "--runtime", "ort"],
            "onnx_tvm": ["measure", str(case.path), "--runtime", "tvm"]}[case.kind]


def _names_input(message: str, case: Case) -> bool:
    """Does the message say which input (file or string) is wrong, and what was expected?"""
    if case.path is not None:
        named = case.path.name in message
    else:
        named = any(w in message for w in ("string", "token", "expected", "got", "unknown", "must", "invalid"))
    return named and len(message) >= 20


def verdict_api(case: Case) -> tuple[str, str]:
    """Load the case through the library; returns (verdict, message)."""
    from codesign.errors import CodesignError

    try:
        _loaders()[case.kind](case)
    except CodesignError as exc:
        msg = str(exc)
        return ("clear" if _names_input(msg, case) else "unclear"), msg
    except Exception as exc:  # noqa: BLE001 - the point: every other exception type is a bug
        return "other", f"{type(exc).__name__}: {exc}"
    return "accepted", ""


def verdict_cli(case: Case) -> tuple[str, str]:
    """Hand the case to the CLI as a user would; returns (verdict, stderr or exception)."""
    from codesign.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(cli_argv(case))
    except SystemExit as exc:  # argparse rejecting the argument itself (exit 2 with usage)
        code = exc.code if isinstance(exc.code, int) else 1
    except Exception as exc:  # noqa: BLE001
        return "other", f"{type(exc).__name__}: {exc}"
    text = err.getvalue()
    if code == 0:
        return "accepted", ""
    if code == 2 and "Traceback" not in text and ("codesign: error:" in text or "usage:" in text):
        return ("clear" if _names_input(text, case) or "usage:" in text else "unclear"), text.strip()
    return "unclear", f"exit {code}: {text.strip()[-500:]}"
