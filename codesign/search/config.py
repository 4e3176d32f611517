"""The search configuration: one validated YAML file says what to search, how to score it, how to
search and where to run it. Unknown keys, wrong types and out-of-range values are all reported at
once, each with its field path (``quickstart.yaml:searcher.population``)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..checks import Checker
from ..accuracy.datasets import DATASETS
from ..errors import CodesignError, ValidationError
from ..accuracy.supernet_training import SupernetTrainConfig
from ..accuracy.training import TrainConfig
from ..yaml_io import load_yaml
from .executors import EXECUTORS, ExecutorConfig
from .objectives import Constraint, Objective, objective
from ..metric_registry import METRICS, metric as metric_spec, metric_names
from ..spaces.registry import SPACES
from ..spaces.arch_space import FLOAT, ArchSpace
from ..spaces.hp_space import HpSpace
from searchers.base import SEARCHERS, multi_fidelity, searcher_class, searcher_names, trains_supernet
from accel_models.registry import BACKENDS
from .rewards import REWARD_KINDS, Reward

FIDELITIES = ("proxy", "supernet", "predictor")
RUNTIMES = ("none", "ort", "tvm")
MODES = ("joint", "phase")
_NAME = r"[A-Za-z0-9_.\-]{1,64}"


@dataclass(frozen=True)
class AccuracyConfig:
    """``proxy``: train each network stand-alone (``train``); ``supernet``: inherit weights from a
    weight-sharing supernet (trained once per run from ``supernet``, or loaded from ``checkpoint``);
    ``predictor``: a regressor fitted on ``predictor_samples`` supernet evaluations (or on the
    (architecture, accuracy) pairs in ``samples_file``). ``skip_infeasible``: a candidate whose
    hardware, size or plug-in metrics already break a constraint is not trained or scored for
    accuracy (it cannot reach the front; its accuracy counts as 0, and the store says why)."""

    fidelity: str = "supernet"
    train: TrainConfig = TrainConfig(epochs=3)
    supernet: SupernetTrainConfig = SupernetTrainConfig()
    checkpoint: str | None = None
    predictor_samples: int = 200
    samples_file: str | None = None
    calib_images: int = 512
    skip_infeasible: bool = True


@dataclass(frozen=True)
class MeasureConfig:
    """Measured latency on the host (or an RPC device): on every trial (``all``) or the final front;
    ``predictor``: a block latency table (``block_lut.json`` from ``codesign predictor build``) that
    gives every trial a ``predicted_latency_ms`` for this host (units it lacks are measured once);
    ``device``: a device model (``DEVICE.json`` from ``codesign device fit``) that gives every trial a
    ``device_latency_ms`` for that target."""

    runtime: str = "none"
    threads: int = 1
    trials: str = "front"
    rpc: str | None = None
    predictor: str | None = None
    device: str | None = None
    target: str | None = None  # TVM target of the RPC board, e.g. "llvm -mtriple=aarch64-linux-gnu -mattr=+neon"
    cc: str | None = None  # cross compiler linking its library, e.g. aarch64-linux-gnu-g++


@dataclass(frozen=True)
class SearchConfig:
    name: str = "search"
    seed: int = 0
    mode: str = "joint"
    arch_space: str = "ibn_32_compact"
    hw_space: str = "nahas_like"
    space_name: str | None = None  # a registered space plug-in (instead of arch × hw)
    hp_space: HpSpace | None = None  # training hyperparameters searched with the network (AutoHAS)
    phase_accelerator: str = "median"  # the hardware space's middle option per field, or a template name/path/string
    data: str = "digits"
    data_path: str | None = None
    data_seed: int = 0
    accuracy: AccuracyConfig = AccuracyConfig()
    backend: str = "analytical"
    measure: MeasureConfig = MeasureConfig()
    objectives: tuple[Objective, ...] = ()
    constraints: tuple[Constraint, ...] = ()
    reward: Reward = Reward()
    searcher: str = "evolution"
    searcher_options: dict[str, Any] = field(default_factory=dict)
    batch: int = 8
    trials: int = 100
    wall_time_s: float | None = None
    executor: ExecutorConfig = ExecutorConfig()
    storage: str | None = None
    source: str = ""

    @classmethod
    def from_yaml(cls, path: str | Path) -> SearchConfig:
        return cls.from_dict(load_yaml(path), source=str(path))

    @classmethod
    def from_dict(cls, data: Any, source: str = "") -> SearchConfig:
        chk = Checker(source)
        keys = ("name", "seed", "mode", "space", "data", "accuracy", "hardware", "measure", "objectives",
                "constraints", "reward", "searcher", "budget", "executor", "storage")
        m = chk.mapping(data, "", required=("objectives",), optional=keys) or {}
        v: dict[str, Any] = {"source": source}
        if "name" in m:
            v["name"] = chk.string(m["name"], "name", _NAME, "a name of letters, digits, '_', '.', '-'")
        if "seed" in m:
            v["seed"] = chk.integer(m["seed"], "seed", 0, 2**31 - 1)
        if "mode" in m:
            v["mode"] = chk.choice(m["mode"], "mode", MODES)
        _space(chk, m.get("space"), v)
        _data(chk, m.get("data"), v)
        v["accuracy"] = _accuracy(chk, m.get("accuracy") or {}, source)
        hw = chk.mapping(m.get("hardware") or {}, "hardware", optional=("backend",)) or {}
        if "backend" in hw:
            v["backend"] = BACKENDS.check_name(chk, hw["backend"], "hardware.backend")
        v["measure"] = _measure(chk, m.get("measure") or {})
        v["objectives"] = _objectives(chk, m.get("objectives"))
        v["constraints"] = _constraints(chk, m.get("constraints") or {})
        v["reward"] = _reward(chk, m.get("reward") or {})
        _searcher(chk, m.get("searcher") or {}, v)
        _budget(chk, m.get("budget") or {}, v)
        v["executor"] = _executor(chk, m.get("executor") or {})
        if m.get("storage") is not None:
            v["storage"] = chk.string(m["storage"], "storage", r"\S+://\S*", "a database URL such as sqlite:///runs/s.db")
        objs = v["objectives"] or ()
        metrics = {o.metric for o in objs} | {c.metric for c in v["constraints"] or ()}
        if "measured_latency_ms" in metrics and (v["measure"] is None or v["measure"].runtime == "none"
                                                  or v["measure"].trials != "all"):
            chk.fail("measure", "an objective or constraint on measured_latency_ms needs "
                                "`measure: {runtime: ort|tvm, trials: all}`")
        if "predicted_latency_ms" in metrics and (v["measure"] is None or not v["measure"].predictor):
            chk.fail("measure", "an objective or constraint on predicted_latency_ms needs "
                                "`measure: {predictor: block_lut.json}` (from `codesign predictor build`)")
        if "device_latency_ms" in metrics and (v["measure"] is None or not v["measure"].device):
            chk.fail("measure", "an objective or constraint on device_latency_ms needs "
                                "`measure: {device: DEVICE.json}` (from `codesign device fit`)")
        if v.get("hp_space") is not None:
            _check_hp_use(chk, v)
        _check_quant_use(chk, v)
        if v.get("space_name") and v.get("mode") == "phase":
            chk.fail("mode", "phase mode splits the built-in network × accelerator space; a registered space "
                             "(space.name) searches jointly")
        name = v.get("searcher")
        if (name in searcher_names() and trains_supernet(name) and v["accuracy"] is not None
                and v["accuracy"].fidelity == "proxy"):
            chk.fail("accuracy.fidelity", f"the {name} searcher trains the supernet: use fidelity supernet or predictor")
        if name in searcher_names() and multi_fidelity(name) and v["accuracy"] is not None:
            if v["accuracy"].fidelity != "proxy":
                chk.fail("accuracy.fidelity", f"the {name} searcher trains each network for a number of epochs per "
                                              "rung: use fidelity proxy")
            elif v["accuracy"].train.steps is not None:
                chk.fail("accuracy.train.steps", f"the {name} searcher's rungs are epochs: set accuracy.train.epochs, "
                                                 "not steps")
            else:
                v["searcher_options"].setdefault("max_epochs", v["accuracy"].train.epochs)
        if v.get("searcher") in searcher_names():
            chk.problems.extend(searcher_class(v["searcher"]).option_problems(v.get("searcher_options", {}), source))
        chk.raise_if_any(f"invalid search configuration{' ' + source if source else ''}")
        return cls(**v)

    @property
    def named_metrics(self) -> list[str]:
        """Every metric an objective or a constraint names, objectives first, each once."""
        return list(dict.fromkeys([o.metric for o in self.objectives] + [c.metric for c in self.constraints]))

    def to_dict(self) -> dict[str, Any]:
        """The configuration in the YAML form :meth:`from_dict` reads (saved in the run directory)."""
        a = self.accuracy
        acc: dict[str, Any] = {"fidelity": a.fidelity, "train": a.train.to_dict(), "supernet": asdict(a.supernet),
                               "predictor_samples": a.predictor_samples, "calib_images": a.calib_images,
                               "skip_infeasible": a.skip_infeasible}
        if a.checkpoint:
            acc["checkpoint"] = a.checkpoint
        if a.samples_file:
            acc["samples_file"] = a.samples_file
        return {
            "name": self.name, "seed": self.seed, "mode": self.mode,
            "space": ({"name": self.space_name} if self.space_name else {"arch": self.arch_space, "hw": self.hw_space})
            | {"phase_accelerator": self.phase_accelerator}
            | ({"hp": self.hp_space.to_config()} if self.hp_space is not None else {}),
            "data": {"name": self.data, "path": self.data_path, "seed": self.data_seed},
            "accuracy": acc,
            "hardware": {"backend": self.backend},
            "measure": asdict(self.measure),
            "objectives": [o.to_dict() for o in self.objectives],
            "constraints": {c.metric: {k: x for k, x in (("max", c.hi), ("min", c.lo)) if x is not None}
                            for c in self.constraints},
            "reward": self.reward.to_dict(),
            "searcher": {"name": self.searcher, "batch": self.batch, **self.searcher_options},
            "budget": {"trials": self.trials, "wall_time_s": self.wall_time_s},
            "executor": {**asdict(self.executor), "resources_per_trial": (dict(self.executor.resources_per_trial)
                                                                           if self.executor.resources_per_trial
                                                                           else None)},
            "storage": self.storage,
        }


def _space(chk: Checker, s: Any, v: dict) -> None:
    if s is None:
        return
    s = chk.mapping(s, "space", optional=("arch", "hw", "hp", "phase_accelerator", "name")) or {}
    if s.get("hp") is not None:
        v["hp_space"] = HpSpace.from_config(chk, s["hp"])
    for key, target in (("arch", "arch_space"), ("hw", "hw_space"), ("phase_accelerator", "phase_accelerator")):
        if key in s:
            v[target] = chk.string(s[key], f"space.{key}", r"\S{1,512}", "a shipped name or a YAML path")
    if s.get("name") is not None:
        if "arch" in s or "hw" in s:
            chk.fail("space.name", "a registered space replaces `arch` and `hw`: give one or the other")
        v["space_name"] = SPACES.check_name(chk, s["name"], "space.name")


def _check_quant_use(chk: Checker, v: dict) -> None:
    """A network space with quantized options gets the constraint ``precision_supported >= 1``: a
    network whose policy is wider than the accelerator's datapath is infeasible."""
    if v.get("space_name"):
        return
    try:
        space = ArchSpace.resolve(v.get("arch_space", SearchConfig.arch_space))
    except CodesignError:
        return  # reported when the run resolves its spaces, with the file and field
    if all(q == FLOAT for q in space.quant):
        return
    cons = v.get("constraints")
    if cons is not None and not any(c.metric == "precision_supported" for c in cons):
        v["constraints"] = (*cons, Constraint("precision_supported", lo=1.0))


def _check_hp_use(chk: Checker, v: dict) -> None:
    """A hyperparameter part needs something that trains with it: proxy training, or a searcher
    that trains the supernet (one-shot, as AutoHAS); it is not split by phase mode."""
    if v.get("space_name"):
        chk.fail("space.hp", "a registered space (space.name) replaces the built-in parts: declare the "
                             "hyperparameters in it")
    if v.get("mode") == "phase":
        chk.fail("space.hp", "phase mode splits network and accelerator only: search hyperparameters in joint mode")
    fidelity = v["accuracy"].fidelity if v.get("accuracy") is not None else "supernet"
    name = v.get("searcher")
    one_shot = name in searcher_names() and trains_supernet(name)
    if fidelity != "proxy" and not one_shot:
        chk.fail("space.hp", f"nothing would train with these hyperparameters: accuracy.fidelity is {fidelity} "
                             "and the searcher does not train the supernet; use fidelity proxy, or a one-shot "
                             "searcher (oneshot)")


def _data(chk: Checker, d: Any, v: dict) -> None:
    if d is None:
        return
    if isinstance(d, str):
        d = {"name": d}
    d = chk.mapping(d, "data", optional=("name", "path", "seed")) or {}
    if "name" in d:
        v["data"] = chk.choice(d["name"], "data.name", DATASETS)
    if d.get("path") is not None:
        v["data_path"] = chk.string(d["path"], "data.path", r".{1,4096}", "a directory path")
    if "seed" in d:
        v["data_seed"] = chk.integer(d["seed"], "data.seed", 0, 2**31 - 1)


def _accuracy(chk: Checker, a: Any, source: str) -> AccuracyConfig | None:
    keys = ("fidelity", "train", "supernet", "checkpoint", "predictor_samples", "samples_file", "calib_images",
            "skip_infeasible")
    a = chk.mapping(a, "accuracy", optional=keys)
    if a is None:
        return None
    out: dict[str, Any] = {}
    if "fidelity" in a:
        out["fidelity"] = chk.choice(a["fidelity"], "accuracy.fidelity", FIDELITIES)
    for key, parse in (("train", TrainConfig.from_dict), ("supernet", SupernetTrainConfig.from_dict)):
        if key in a:
            try:
                out[key] = parse(a[key], f"{source}:accuracy.{key}" if source else f"accuracy.{key}")
            except Exception as exc:  # noqa: BLE001 - a ValidationError: keep its problems in this report
                chk.problems.extend(getattr(exc, "problems", []))
    for key in ("checkpoint", "samples_file"):
        if a.get(key) is not None:
            out[key] = chk.string(a[key], f"accuracy.{key}", r".{1,4096}", "a file path")
    if "predictor_samples" in a:
        out["predictor_samples"] = chk.integer(a["predictor_samples"], "accuracy.predictor_samples", 10, 100_000)
    if "calib_images" in a:
        out["calib_images"] = chk.integer(a["calib_images"], "accuracy.calib_images", 16, 100_000)
    if "skip_infeasible" in a:
        out["skip_infeasible"] = chk.boolean(a["skip_infeasible"], "accuracy.skip_infeasible")
    return AccuracyConfig(**{k: v for k, v in out.items() if v is not None})


def _measure(chk: Checker, m: Any) -> MeasureConfig | None:
    m = chk.mapping(m, "measure", optional=("runtime", "threads", "trials", "rpc", "predictor", "device", "target", "cc"))
    if m is None:
        return None
    out: dict[str, Any] = {}
    if "runtime" in m:
        out["runtime"] = chk.choice(m["runtime"], "measure.runtime", RUNTIMES)
    if "threads" in m:
        out["threads"] = chk.integer(m["threads"], "measure.threads", 1, 256)
    if "trials" in m:
        out["trials"] = chk.choice(m["trials"], "measure.trials", ("front", "all"))
    if m.get("rpc") is not None:
        out["rpc"] = chk.string(m["rpc"], "measure.rpc", r"[A-Za-z0-9_.\-]+:\d{1,5}", "HOST:PORT")
    if m.get("predictor") is not None:
        out["predictor"] = chk.string(m["predictor"], "measure.predictor", r".{1,4096}", "a block_lut.json path")
    for key, what in (("target", "a TVM target such as 'llvm -mtriple=aarch64-linux-gnu -mattr=+neon'"),
                      ("cc", "a cross compiler such as aarch64-linux-gnu-g++")):
        if m.get(key) is not None:
            out[key] = chk.string(m[key], f"measure.{key}", r"[^\n]{1,512}", what)
            if out.get("runtime", "none") != "tvm":
                chk.fail(f"measure.{key}", f"`{key}` applies to `runtime: tvm` only")
    if m.get("device") is not None:
        out["device"] = chk.string(m["device"], "measure.device", r".{1,4096}", "a DEVICE.json path")
        if out["device"] is not None:
            _check_device_model(chk, out["device"])
    return MeasureConfig(**out)


def _check_device_model(chk: Checker, path: str) -> None:
    """A device model must load now, not fail every trial later."""
    from latency_predictors.device_model import DeviceModel

    try:
        model = DeviceModel.load(path)
    except ValidationError as exc:
        chk.fail("measure.device", str(exc))
        return
    if model.metric != "latency_ms":
        chk.fail("measure.device", f"{path} models {model.metric}; device_latency_ms needs a latency model "
                                   "(`codesign device fit MEAS.csv --metric latency_ms`)")


def _objectives(chk: Checker, objs: Any) -> tuple[Objective, ...] | None:
    items = chk.sequence(objs, "objectives", 1, 4)
    if items is None:
        return None
    out = []
    for i, o in enumerate(items):
        p = f"objectives[{i}]"
        if isinstance(o, str):
            o = {"metric": o}
        o = chk.mapping(o, p, required=("metric",), optional=("direction", "reference", "scale"))
        if o is None:
            continue
        name = METRICS.check_name(chk, o.get("metric"), f"{p}.metric")
        if name is None:
            continue
        spec = metric_spec(name)
        direction = chk.choice(o.get("direction", spec.direction), f"{p}.direction", ("minimize", "maximize"))
        scale = chk.choice(o.get("scale", spec.scale), f"{p}.scale", ("linear", "log"))
        ref = None
        if o.get("reference") is not None:
            ref = chk.number(o["reference"], f"{p}.reference", 0.0, 1e12, lo_open=scale == "log")
        out.append(objective({"metric": name, "direction": direction, "scale": scale, "reference": ref}))
    names = [o.metric for o in out]
    if len(set(names)) != len(names):
        chk.fail("objectives", f"each metric may appear once, got {names}")
    return tuple(out)


def _constraints(chk: Checker, cons: Any) -> tuple[Constraint, ...] | None:
    cons = chk.mapping(cons, "constraints", optional=metric_names())
    if cons is None:
        return None
    out = []
    for metric, bound in cons.items():
        b = chk.mapping(bound, f"constraints.{metric}", optional=("max", "min"))
        if b is None:
            continue
        hi = chk.number(b["max"], f"constraints.{metric}.max", 0.0, 1e12) if b.get("max") is not None else None
        lo = chk.number(b["min"], f"constraints.{metric}.min", 0.0, 1e12) if b.get("min") is not None else None
        if hi is None and lo is None:
            chk.fail(f"constraints.{metric}", "give `max`, `min` or both")
        elif hi is not None and lo is not None and lo > hi:
            chk.fail(f"constraints.{metric}", f"`min <= max` must hold, but got (min={lo}, max={hi})")
        else:
            out.append(Constraint(metric, hi, lo))
    return tuple(out)


def _reward(chk: Checker, r: Any) -> Reward | None:
    r = chk.mapping(r, "reward", optional=("kind", "quality", "targets", "beta"))
    if r is None:
        return None
    kind = chk.choice(r.get("kind", "mnas_soft"), "reward.kind", REWARD_KINDS)
    quality = chk.choice(r.get("quality", "accuracy"), "reward.quality", ("accuracy",))
    targets = chk.mapping(r.get("targets") or {}, "reward.targets", optional=metric_names()) or {}
    t = {k: chk.number(x, f"reward.targets.{k}", 0.0, 1e12, lo_open=True) for k, x in targets.items()}
    beta = r.get("beta", {})
    if isinstance(beta, (int, float)) and not isinstance(beta, bool):
        beta = {k: beta for k in t}
    beta = chk.mapping(beta, "reward.beta", optional=list(t)) or {}
    b = {k: chk.number(x, f"reward.beta.{k}", -100.0, 0.0) for k, x in beta.items()}
    return Reward(kind or "mnas_soft", quality or "accuracy", t, b)


def _searcher(chk: Checker, s: Any, v: dict) -> None:
    """The searcher's name must be registered; its options are its class's ``OPTIONS`` (the schema
    each searcher declares; their values are checked when the searcher is built)."""
    if isinstance(s, str):
        s = {"name": s}
    s = chk.mapping(s, "searcher", optional=list(s) if isinstance(s, dict) else ())
    if s is None:
        return
    v["searcher"] = SEARCHERS.check_name(chk, s.get("name", "evolution"), "searcher.name")
    if "batch" in s:
        v["batch"] = chk.integer(s["batch"], "searcher.batch", 1, 4096)
    v["searcher_options"] = {k: x for k, x in s.items() if k not in ("name", "batch")}
    if v["searcher"] is not None:
        options = searcher_class(v["searcher"]).OPTIONS
        for key in sorted(set(v["searcher_options"]) - set(options)):
            chk.fail(f"searcher.{key}", f"unknown option `{key}` for searcher {v['searcher']} "
                                        f"(options: {', '.join(['name', 'batch', *sorted(options)])})")


def _budget(chk: Checker, b: Any, v: dict) -> None:
    b = chk.mapping(b, "budget", optional=("trials", "wall_time_s")) or {}
    if "trials" in b:
        v["trials"] = chk.integer(b["trials"], "budget.trials", 1, 10_000_000)
    if b.get("wall_time_s") is not None:
        v["wall_time_s"] = chk.number(b["wall_time_s"], "budget.wall_time_s", 0.0, 1e9, lo_open=True)


def _executor(chk: Checker, e: Any) -> ExecutorConfig | None:
    if isinstance(e, str):
        e = {"kind": e}
    e = chk.mapping(e, "executor", optional=("kind", "workers", "address", "timeout_s", "memory_mb",
                                            "resources_per_trial"))
    if e is None:
        return None
    out: dict[str, Any] = {}
    if "kind" in e:
        out["kind"] = chk.choice(e["kind"], "executor.kind", tuple(EXECUTORS))
    if "workers" in e:
        out["workers"] = chk.integer(e["workers"], "executor.workers", 1, 1024)
    if e.get("address") is not None:
        out["address"] = chk.string(e["address"], "executor.address", r"\S{1,512}", "a Ray address such as HOST:6379")
    if "timeout_s" in e:
        out["timeout_s"] = chk.number(e["timeout_s"], "executor.timeout_s", 0.0, 1e7, lo_open=True)
    if e.get("memory_mb") is not None:
        out["memory_mb"] = chk.integer(e["memory_mb"], "executor.memory_mb", 64, 10_000_000)
    if e.get("resources_per_trial") is not None:
        r = chk.mapping(e["resources_per_trial"], "executor.resources_per_trial", optional=("cpu", "gpu")) or {}
        res = {k: chk.number(r[k], f"executor.resources_per_trial.{k}", 0.0, 1024.0) for k in ("cpu", "gpu") if k in r}
        if res and e.get("kind") != "ray":
            chk.fail("executor.resources_per_trial", "applies to executor kind ray")
        out["resources_per_trial"] = tuple(sorted(res.items()))
    return ExecutorConfig(**out)

