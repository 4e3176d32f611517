"""Where the shipped hardware YAML lives, and ``NAME|FILE`` resolution for accelerator templates."""
from __future__ import annotations

from importlib import resources
from pathlib import Path

from .accel import AccelConfig
from .errors import Problem, ValidationError


def hw_configs_dir() -> Path:
    """The installed ``hw_configs`` directory (templates, hardware spaces, technology tables)."""
    return Path(str(resources.files("hw_configs")))


def template_names() -> list[str]:
    return sorted(p.stem for p in hw_configs_dir().glob("*.yaml"))


def targets_dir() -> Path:
    """Real-device target templates, written from public specifications."""
    return hw_configs_dir() / "targets"


def target_names() -> list[str]:
    return sorted(p.stem for p in targets_dir().glob("*.yaml"))


def resolve_accel(name_or_path: str | Path) -> AccelConfig:
    """An accelerator from a template or target name (``eyeriss_like``, ``coral_edge_tpu_devboard``),
    a YAML path, or a canonical string."""
    text = str(name_or_path)
    path = Path(text)
    if path.suffix in (".yaml", ".yml") or (len(text) < 255 and path.is_file()):
        return AccelConfig.from_yaml(path)
    if text in template_names():
        return AccelConfig.from_yaml(hw_configs_dir() / f"{text}.yaml")
    if text in target_names():
        return AccelConfig.from_yaml(targets_dir() / f"{text}.yaml")
    if text.startswith("pe"):
        return AccelConfig.from_string(text)
    raise ValidationError(Problem(text, f"not a hardware template, YAML file or accelerator string "
                                        f"(templates: {', '.join(template_names())}; targets: {', '.join(target_names())})"))
