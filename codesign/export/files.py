"""Writing an export bundle's files, never outside the bundle directory."""
from __future__ import annotations

import hashlib
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

from ..accel import AccelConfig
from ..errors import Problem, ValidationError
from ..layer import Layer
from ..yaml_io import dump_yaml
from accel_models.timeloop_backend import write_spec
from accel_models.zigzag_backend import accelerator_yaml, mapping_yaml, network_workload

TEMPLATES = "codesign.export"


def inside(root: Path, relative: str | Path) -> Path:
    """``root / relative``, refusing absolute names and names that climb out of ``root`` (``..``, links)."""
    rel = Path(relative)
    if rel.is_absolute() or not str(relative).strip():
        raise ValidationError(Problem(str(relative), f"file names in an export must be relative to {root}"))
    target = (root / rel).resolve()
    if not target.is_relative_to(root.resolve()):
        raise ValidationError(Problem(str(relative), f"would be written outside the export directory {root}"))
    return target


def write_text(root: Path, relative: str, text: str) -> Path:
    path = inside(root, relative)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def copy_template(root: Path, name: str, relative: str) -> Path:
    """Copy the script ``templates/<name>`` shipped with codesign to ``root/relative``."""
    source = resources.files(TEMPLATES) / "templates" / name
    return write_text(root, relative, source.read_text())


def write_accelerator_files(root: Path, accel: AccelConfig, workload: list[Layer], name: str) -> list[Path]:
    """The accelerator as codesign YAML, as zigzag-dse inputs (+ a runner) and as a Timeloop spec."""
    written = [write_text(root, "accelerator/accelerator.yaml",
                          accel.to_yaml(name=name, description=f"exported by codesign: {accel.key}")),
               write_text(root, "accelerator/zigzag/accelerator.yaml", dump_yaml(accelerator_yaml(accel))),
               write_text(root, "accelerator/zigzag/mapping.yaml", dump_yaml(mapping_yaml(accel))),
               write_text(root, "accelerator/zigzag/workload.yaml",
                          dump_yaml(network_workload(workload, accel.precision_bits))),
               copy_template(root, "run_zigzag.py", "accelerator/zigzag/run_zigzag.py")]
    written += write_spec(workload, accel, inside(root, "accelerator/timeloop"))
    return written


def sha256_of(path: Path) -> str:
    """SHA-256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def file_list(root: Path) -> list[dict[str, Any]]:
    """Every file of the bundle: relative path, size (bytes) and SHA-256."""
    out = []
    for p in sorted(root.rglob("*")):
        if p.is_file():
            out.append({"path": p.relative_to(root).as_posix(), "bytes": p.stat().st_size,
                        "sha256": sha256_of(p)})
    return out


def prepare_out_dir(out: Path, force: bool) -> Path:
    """A fresh staging directory next to ``out``; ``out`` must be absent, empty, or (with ``force``) a
    previous export (it holds ``model_card.json``) — never an arbitrary directory that would be lost."""
    if out.exists():
        if not out.is_dir():
            raise ValidationError(Problem(str(out), "--out exists and is not a directory"))
        if any(out.iterdir()):
            if not (out / "model_card.json").is_file():
                raise ValidationError(Problem(str(out), "--out holds files that are not a codesign export; choose "
                                                        "an empty or new folder (--force only replaces a previous "
                                                        "export)"))
            if not force:
                raise ValidationError(Problem(str(out), "--out holds a previous export; pass --force to replace it"))
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.partial"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    return staging


def publish(staging: Path, out: Path) -> None:
    """Move the finished staging directory to ``out`` (replacing a previous export there)."""
    if out.exists():
        shutil.rmtree(out)
    staging.rename(out)
