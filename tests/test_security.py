"""Safe loading and what the toolkit never does: run code from a YAML or weights file, listen on
every interface, write outside an export directory, or write a database password anywhere."""
import inspect
import pickle
import re
from pathlib import Path

import pytest
import torch

from codesign.accel import AccelConfig
from codesign.cli.main import main
from codesign.errors import ValidationError
from codesign.export import load_exported_model
from codesign.accuracy.supernet import Supernet
from codesign.yaml_io import loads_yaml

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("codesign", "accel_models", "latency_predictors", "searchers")


def test_yaml_cannot_run_code_or_repeat_a_key(tmp_path):
    marker = tmp_path / "pwned"
    bad = tmp_path / "accel.yaml"
    bad.write_text(f"pe_rows: !!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(ValidationError, match="accel.yaml"):
        AccelConfig.from_yaml(bad)
    assert not marker.exists()
    with pytest.raises(ValidationError, match="duplicate key `pe_rows`.*line 1.*line 2"):
        loads_yaml("pe_rows: 16\npe_rows: 32\n", "x.yaml")


class _Boom:
    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_weights_files_are_loaded_without_unpickling_code(tmp_path):
    marker = tmp_path / "pwned"
    boom = _Boom()
    boom.marker = str(marker)
    for loader, name in ((Supernet.load, "supernet.pt"), (load_exported_model, "weights.pt")):
        path = tmp_path / name
        torch.save({"state_dict": boom, "arch": "x", "space": "{}"}, str(path))
        with pytest.raises(ValidationError, match=name):
            loader(path)
        assert not marker.exists()
    raw = tmp_path / "raw.pt"
    raw.write_bytes(pickle.dumps(boom))
    with pytest.raises(ValidationError):
        Supernet.load(raw)
    assert not marker.exists()


def _sources():
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            yield path, path.read_text()


def test_the_code_has_no_eval_exec_unsafe_yaml_or_unrestricted_unpickling():
    for path, text in _sources():
        code = re.sub(r'""".*?"""', "", text, flags=re.S)
        assert not re.search(r"(?<![\w.])(eval|exec)\(", code), path
        for m in re.finditer(r"torch\.load\((.{0,120})", code, flags=re.S):   # the call's arguments
            assert "weights_only=True" in m.group(1), f"{path}: {m.group(0)}"
        for m in re.finditer(r"yaml\.load\((.{0,80})", code, flags=re.S):
            assert "Loader=_StrictLoader" in m.group(1), f"{path}: {m.group(0)}"
        assert "yaml.unsafe_load" not in code and "pickle.load(" not in code and "pickle.loads(" not in code, path
        assert "shell=True" not in code, path


def test_servers_the_toolkit_starts_bind_to_loopback_unless_told_otherwise():
    from latency_predictors.tvm_runtime import start_rpc_server

    assert inspect.signature(start_rpc_server).parameters["host"].default == "127.0.0.1"
    ray_init = inspect.getsource(__import__("codesign.search.executors", fromlist=["RayExecutor"]).RayExecutor)
    assert '_node_ip_address="127.0.0.1"' in ray_init


def test_a_database_password_is_never_written_to_the_run_or_printed(tmp_path, capsys, monkeypatch):
    cfg = (ROOT / "examples" / "smoke.yaml").read_text() + \
        "storage: postgresql://codesign:s3cret@127.0.0.1:9/runs\n"
    path = tmp_path / "shared.yaml"
    path.write_text(cfg)
    run = tmp_path / "run"
    assert main(["search", str(path), "--out", str(run), "--no-progress"]) == 2   # no database listens there
    err = capsys.readouterr().err
    assert "cannot open trial store" in err and "s3cret" not in err and "***" in err
    saved = (run / "config.yaml").read_text()
    assert "s3cret" not in saved and "${CODESIGN_DB_PASSWORD}" in saved
    monkeypatch.delenv("CODESIGN_DB_PASSWORD", raising=False)
    assert main(["search", "--resume", str(run), "--no-progress"]) == 2        # resuming asks for the variable
    err = capsys.readouterr().err
    assert "CODESIGN_DB_PASSWORD" in err and "s3cret" not in err
    assert not any("s3cret" in p.read_text(errors="ignore") for p in run.rglob("*") if p.is_file())
