"""Safe YAML reading and writing: duplicate keys are errors, every failure names the file and line."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import Problem, ValidationError


class _StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that rejects a mapping with the same key twice (PyYAML keeps the last)."""

    def construct_mapping(self, node, deep=False):  # noqa: D102 - PyYAML hook
        if isinstance(node, yaml.MappingNode):
            self.flatten_mapping(node)
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                try:
                    duplicate = key in seen
                except TypeError:  # unhashable key: PyYAML's own check reports it below
                    continue
                if duplicate:
                    raise yaml.constructor.ConstructorError(
                        None, None,
                        f"duplicate key `{key}` (first at line {seen[key]}, again at line {line})",
                        key_node.start_mark,
                    )
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


def loads_yaml(text: str, source: str = "<string>") -> Any:
    """Parse YAML text with the strict safe loader; errors name ``source`` and the line."""
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - _StrictLoader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        raise ValidationError(Problem(where, f"malformed YAML: {exc.problem or exc.context}")) from None
    except yaml.YAMLError as exc:
        raise ValidationError(Problem(source, f"malformed YAML: {exc}")) from None


def read_text(path: str | Path) -> str:
    """Read a UTF-8 text file; a missing file or another encoding is a :class:`ValidationError`."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise ValidationError(Problem(str(p), "file not found")) from None
    except IsADirectoryError:
        raise ValidationError(Problem(str(p), "expected a file, got a directory")) from None
    except OSError as exc:
        raise ValidationError(Problem(str(p), f"cannot read file: {exc.strerror}")) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError(
            Problem(str(p), f"expected UTF-8 text, got an undecodable byte at offset {exc.start}")
        ) from None


def load_yaml(path: str | Path) -> Any:
    """Load one YAML file with the strict safe loader."""
    return loads_yaml(read_text(path), source=str(path))


def dump_yaml(data: Any) -> str:
    """Plain block-style YAML, keys in the given order."""
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False)


def shipped_or_file(name_or_path: str | Path, shipped_dir: Path, what: str) -> Path:
    """A YAML file shipped in ``shipped_dir`` by its name (no ``/``, no suffix), or a ``.yaml``/``.yml``
    path; anything else is an error listing the shipped names (``what``: e.g. "hardware space")."""
    text = str(name_or_path)
    shipped = shipped_dir / f"{text}.yaml"
    try:
        is_shipped = "/" not in text and shipped.is_file()
    except OSError:  # a name the file system cannot hold (too long, say) names no shipped file
        is_shipped = False
    if is_shipped:
        return shipped
    if not text.endswith((".yaml", ".yml")):
        names = sorted(p.stem for p in shipped_dir.glob("*.yaml"))
        raise ValidationError(Problem(text, f"not a shipped {what} ({', '.join(names)}) nor a .yaml file"))
    return Path(text)


def load_space_yaml(path: str | Path, shipped_dir: Path, what: str) -> Any:
    """A space file; one with ``extends: <shipped name or file>`` takes that space's fields and
    replaces those it gives itself (e.g. ``{extends: ibn_32_compact, quant: [float, w8a8]}``)."""
    data = load_yaml(path)
    seen = {str(Path(path).resolve())}
    while isinstance(data, dict) and data.get("extends") is not None:
        base_path = shipped_or_file(data["extends"], shipped_dir, what)
        if str(base_path.resolve()) in seen:
            raise ValidationError(Problem(f"{path}:extends", f"`{data['extends']}` extends itself in a cycle"))
        seen.add(str(base_path.resolve()))
        base = load_yaml(base_path)
        if not isinstance(base, dict):
            raise ValidationError(Problem(str(base_path), f"expected a {what} mapping"))
        data = {**base, **{k: v for k, v in data.items() if k != "extends"}}
    return data
