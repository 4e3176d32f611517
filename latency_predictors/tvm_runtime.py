"""Measured latency with Apache TVM (0.27, Relax): compile for this host or a remote board over RPC,
optional MetaSchedule tuning with a persistent database, and ``export_library`` for deployment.

Threads: TVM's runtime reads ``TVM_NUM_THREADS`` once, at its first parallel call; set it (the CLI
does, from ``--threads``) before measuring — unset, timings here swing between 0.45 and 0.6 ms.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx

from codesign.errors import CodesignError, Problem, UnsupportedOpError, ValidationError

from .environment import environment
from .timing import Measurement, summarize
from .tvm_schedules import kernel_schedules
from .tvm_schedules import crop_padding_only_taps, to_channels_last
from .tvm_schedules import apply_default_schedules


class TvmError(CodesignError):
    """TVM could not import, compile, tune, export or run a model."""


@contextlib.contextmanager
def quiet_stderr():
    """Silence C++-level stderr (TVM prints a 'Scope Saving' warning per function on export)."""
    fd = os.dup(2)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(fd, 2)
            os.close(fd)


def host_target(threads: int = 1):
    """An LLVM target for this CPU (its own -mcpu), as TVM 0.27 wants it: a dict."""
    import tvm

    cpu = tvm.target.codegen.llvm_get_system_cpu() if hasattr(tvm.target.codegen, "llvm_get_system_cpu") else ""
    spec = {"kind": "llvm", "num-cores": int(threads)}
    if cpu and cpu != "generic":
        spec["mcpu"] = cpu
    return tvm.target.Target(spec)


def parse_target(text: str | None, threads: int = 1):
    """A TVM target from its usual command-line form, e.g. ``llvm -mtriple=aarch64-linux-gnu
    -mattr=+neon`` (a Raspberry Pi 4), or this host's CPU when ``text`` is empty or ``host``. TVM 0.27
    only accepts dict targets, so the string is parsed here; ``-mattr`` takes comma-separated features."""
    import tvm

    if not text or text.strip() == "host":
        return host_target(threads)
    kind, *options = text.split()
    spec: dict = {"kind": kind, "num-cores": int(threads)}
    for opt in options:
        key, sep, value = opt.lstrip("-").partition("=")
        if not opt.startswith("-") or not sep or not key:
            raise ValidationError(Problem("--target", f"expected options of the form -key=value in `{text}`, "
                                                      f"got `{opt}`"))
        spec[key] = value.split(",") if key in ("mattr", "keys", "libs") else value
    try:
        return tvm.target.Target(spec)
    except Exception as exc:  # noqa: BLE001 - TVM raises its own error types
        raise ValidationError(Problem("--target", f"TVM rejects `{text}`: {str(exc).splitlines()[0]}")) from None


def is_host_target(target) -> bool:
    """Whether a library built for ``target`` runs on this machine (same triple as the host's LLVM)."""
    import tvm

    triple = str(target.attrs.get("mtriple", "")) if "mtriple" in target.attrs else ""
    host = str(tvm.target.codegen.llvm_get_system_triple()) if hasattr(tvm.target.codegen,
                                                                     "llvm_get_system_triple") else ""
    return not triple or triple == host or triple.split("-")[0] == host.split("-")[0]


def import_onnx(model: onnx.ModelProto | str | Path):
    """ONNX → Relax ``IRModule`` (weights folded in); an operator TVM cannot import is an error naming it."""
    from tvm.relax.frontend.onnx import from_onnx

    proto = model if isinstance(model, onnx.ModelProto) else _load(model)
    where = "ONNX model" if isinstance(model, onnx.ModelProto) else str(model)
    try:
        return from_onnx(proto, keep_params_in_input=False)
    except Exception as exc:  # noqa: BLE001 - the frontend raises bare exceptions
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        unsupported = {n.op_type for n in proto.graph.node} & _unsupported_ops(text)
        if unsupported:
            raise UnsupportedOpError(f"{where}: TVM cannot import ONNX operator(s) {', '.join(sorted(unsupported))}: "
                                     f"{text}") from None
        raise TvmError(f"{where}: TVM's ONNX frontend failed: {type(exc).__name__}: {text}") from None


def _unsupported_ops(text: str) -> set[str]:
    import re

    return set(re.findall(r"\b([A-Z][A-Za-z0-9]+)\b", text))


def _load(path: str | Path) -> onnx.ModelProto:
    p = Path(path)
    if not p.is_file():
        raise ValidationError(Problem(str(p), "ONNX file not found"))
    try:
        return onnx.load(str(p))
    except Exception as exc:  # noqa: BLE001
        raise ValidationError(Problem(str(p), f"not a readable ONNX model ({exc})")) from None


# ---- MetaSchedule tuning -------------------------------------------------------------------
def _fast_build(mod, target, _params):
    """MetaSchedule's default build without ``import tvm.s_tir.tensor_intrin`` (~32 s per worker here,
    which made every build of the default 30 s builder time out)."""
    from tvm.driver import build as tvm_build
    from tvm.s_tir.transform import RemoveWeightLayoutRewriteBlock

    return tvm_build(RemoveWeightLayoutRewriteBlock(skip_tensor_rewrite=True)(mod), target=target)


def _register_fast_build() -> None:
    import tvm_ffi

    tvm_ffi.register_global_func("codesign.ms_fast_build", _fast_build, override=True)


def trials_per_round(trials: int, tasks: int) -> int:
    """Measured trials per task and round of MetaSchedule's task scheduler: the first round gives
    every task this many, so the budget must be spread over the tasks (with ``min(64, trials)``, a
    64-trial budget went to the first of ~50 tasks and left the rest as untuned scalar loops)."""
    return max(1, min(64, trials // max(tasks, 1)))


#: below this many trials per kernel, MetaSchedule's evolutionary search has too few measurements to
#: train its cost model, so schedules are drawn at random from the design space instead ("replay-trace"),
#: which skips the ~3 s of cost-model search per kernel and round
EVOLUTIONARY_MIN_TRIALS_PER_TASK = 16


def search_strategy(per_round: int) -> str:
    """MetaSchedule's search strategy for ``per_round`` trials per kernel (see :func:`trials_per_round`)."""
    return "evolutionary" if per_round >= EVOLUTIONARY_MIN_TRIALS_PER_TASK else "replay-trace"


def _tuning_input(mod, target):
    """The module as MetaSchedule extracts tasks from it (ops decomposed, fused, legalized; the
    kernels' weight parameters marked layout-free, so a schedule may read them repacked)."""
    import tvm
    from tvm import relax

    with target:
        return tvm.transform.Sequential([relax.transform.DecomposeOpsForInference(),
                                         relax.transform.CanonicalizeBindings(),
                                         relax.pipeline.zero_pipeline(),
                                         relax.transform.AttachAttrLayoutFreeBuffers()])(mod)


def fold_packed_weights(mod):
    """Move the kernels' weight-repacking blocks into functions of their own and run them at compile
    time on the constant weights."""
    import tvm
    from tvm import relax

    return tvm.transform.Sequential([relax.transform.SplitLayoutRewritePreproc(),
                                     relax.transform.FoldConstant(),
                                     relax.transform.DeadCodeElimination(["main"])])(mod)


def _tasks_missing_from(prepared, target, database) -> list:
    """The kernels (MetaSchedule tasks) of a module prepared by :func:`_tuning_input` with no record
    in ``database``."""
    from tvm.s_tir import meta_schedule as ms

    return [t for t in ms.relax_integration.extract_tasks(prepared, target)
            if not database.has_workload(t.dispatched[0])]


def untuned_tasks(model: onnx.ModelProto | str | Path, target, db_dir: str | Path,
                  default_schedules: bool = True) -> list:
    """The kernels (MetaSchedule tasks) of ``model``, as :func:`schedule_model` tunes it, with no record
    yet in the database at ``db_dir``."""
    from tvm.s_tir import meta_schedule as ms

    mod = _tuning_input(_relax_module(model, default_schedules), target)
    return _tasks_missing_from(mod, target, ms.database.JSONDatabase(work_dir=str(db_dir)))


def measure_kernel_schedules(tasks, target, database, builder, runner, per_task: int = 1 << 30) -> int:
    """Build and time (MetaSchedule's builder and runner) up to ``per_task`` of the schedules that
    codesign's rules give each task (:func:`tvm_schedules.kernel_schedules`: the default tile, then the
    other tile choices) and commit them to ``database`` as tuning records; returns how many were
    measured. Applying the database then keeps the fastest record per kernel, so tuning can only
    improve on the untuned schedules."""
    from tvm.s_tir import meta_schedule as ms


    candidates = [(task.dispatched[0], sch) for task in tasks
                  for sch in kernel_schedules(task.dispatched[0], target)[:per_task]]
    if not candidates:
        return 0
    built = builder.build([ms.builder.BuilderInput(sch.mod, target) for _, sch in candidates])
    inputs, kept = [], []
    for (kernel, sch), result in zip(candidates, built):
        if result.error_msg is None:
            args = ms.arg_info.ArgInfo.from_entry_func(sch.mod, remove_preproc=True)
            # the runner wants a device name ("cpu"), not the target kind ("llvm": "Unknown device")
            inputs.append(ms.runner.RunnerInput(result.artifact_path, device_type="cpu", args_info=args))
            kept.append((kernel, sch, args))
    measured = 0
    for (kernel, sch, args), future in zip(kept, runner.run(inputs)):
        result = future.result()
        if result.error_msg is None and result.run_secs:
            record = ms.database.TuningRecord(sch.trace, database.commit_workload(kernel),
                                              [float(t) for t in result.run_secs], target, args)
            database.commit_tuning_record(record)
            measured += 1
    return measured


def _search_space():
    """MetaSchedule's default CPU design space without its RewriteLayout post-processor, which
    crashed ("parallel_for_dynamic ... initial_indices_orig") on these kernels once their weights
    are marked layout-free (codesign's schedules repack the weights themselves)."""
    from tvm.s_tir import meta_schedule as ms

    return ms.space_generator.PostOrderApply(
        sch_rules="from-target", mutator_probs="from-target",
        postprocs=[ms.postproc.DisallowDynamicLoop(), ms.postproc.RewriteParallelVectorizeUnroll(),
                   ms.postproc.RewriteReductionBlock()])


def tune(mod, target, trials: int, db_dir: str | Path, timeout_s: float | None = None):
    """Tune ``mod``'s kernels not yet in the JSON database at ``db_dir`` (shared across candidates, so
    a layer shape is tuned once) with at most ``trials`` measured trials; returns the tuned module.

    First every kernel's schedules from codesign's rules are measured (:func:`measure_kernel_schedules`;
    for a convolution, up to ``trials / kernels`` of the :data:`tvm_schedules.TILE_CHOICES` register
    tiles, at least the default one), then MetaSchedule's own search spends the rest of the budget,
    spread so every kernel gets at least one measured schedule when the remaining ``trials`` ≥ the
    number of kernels. The fastest record of each kernel is applied;
    a kernel without any record gets the untuned default schedule when the module is compiled."""
    from tvm import relax
    from tvm.s_tir import meta_schedule as ms

    db_dir = Path(db_dir)
    db_dir.mkdir(parents=True, exist_ok=True)
    mod = _tuning_input(mod, target)
    database = ms.database.JSONDatabase(work_dir=str(db_dir))
    tasks = _tasks_missing_from(mod, target, database)
    if tasks and trials > 0:
        builder = ms.builder.LocalBuilder(timeout_sec=60, f_build="codesign.ms_fast_build",
                                          initializer=_register_fast_build)
        runner = ms.runner.LocalRunner()
        start = time.perf_counter()
        try:
            trials -= measure_kernel_schedules(tasks, target, database, builder, runner,
                                               per_task=max(1, trials // len(tasks)))
            if trials > 0:
                per_round = trials_per_round(trials, len(tasks))
                contexts, weights = ms.relax_integration.extracted_tasks_to_tune_contexts(
                    extracted_tasks=tasks, work_dir=str(db_dir), space=_search_space(),
                    strategy=search_strategy(per_round), seed=0)
                ms.tune.tune_tasks(tasks=contexts, task_weights=weights, work_dir=str(db_dir),
                                   max_trials_global=trials, num_trials_per_iter=per_round, builder=builder,
                                   runner=runner, database=database)
        except Exception as exc:  # noqa: BLE001
            raise TvmError(f"MetaSchedule tuning failed: {type(exc).__name__}: {str(exc).splitlines()[0]}") from None
        if timeout_s is not None and time.perf_counter() - start > timeout_s:
            raise TvmError(f"tuning took {time.perf_counter() - start:.0f} s, over its {timeout_s:.0f} s budget "
                           f"(the database in {db_dir} keeps what was tuned)")
    with target, database:
        return relax.transform.MetaScheduleApplyDatabase()(mod)


def _relax_module(model: onnx.ModelProto | str | Path, default_schedules: bool):
    """The imported module; with ``default_schedules``, cropped and channels-last (what gets tuned)."""
    mod = import_onnx(model)
    if not default_schedules:
        return mod
    try:
        return to_channels_last(crop_padding_only_taps(mod))
    except Exception as exc:  # noqa: BLE001
        raise TvmError(f"TVM layout rewrite failed: {type(exc).__name__}: {str(exc).splitlines()[0]}") from None


def schedule_model(model: onnx.ModelProto | str | Path, target, tune_trials: int = 0,
                   db_dir: str | Path | None = None, default_schedules: bool = True):
    """The imported Relax module with its kernels scheduled, ready for ``tvm.compile``.

    With ``tune_trials`` > 0, MetaSchedule tunes first (database in ``db_dir``). With
    ``default_schedules`` (the default) the convolutions run channels-last with their padding-only taps
    cropped, and every kernel the tuning database has no record for gets codesign's fixed CPU schedule
    (:mod:`latency_predictors.tvm_schedules`); without, such kernels are TVM's naive loop nests."""
    mod = _relax_module(model, default_schedules)
    try:
        if tune_trials > 0:
            mod = tune(mod, target, tune_trials, db_dir or Path(tempfile.mkdtemp(prefix="codesign-ms-")))
        elif default_schedules:
            mod = _tuning_input(mod, target)
        if not default_schedules:
            return mod
        return fold_packed_weights(apply_default_schedules(mod, target))
    except TvmError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise TvmError(f"TVM scheduling failed: {type(exc).__name__}: {str(exc).splitlines()[0]}") from None


def compile_model(model: onnx.ModelProto | str | Path, threads: int = 1, tune_trials: int = 0,
                  db_dir: str | Path | None = None, target=None, default_schedules: bool = True):
    """Import, schedule (:func:`schedule_model`) and compile for ``target`` (default: this host)."""
    import tvm

    target = target or host_target(threads)
    mod = schedule_model(model, target, tune_trials, db_dir, default_schedules)
    try:
        return tvm.compile(mod, target=target)
    except Exception as exc:  # noqa: BLE001
        raise TvmError(f"TVM compilation failed: {type(exc).__name__}: {str(exc).splitlines()[0]}") from None


def export_library(executable, path: str | Path, cc: str | None = None) -> Path:
    """A shared object loadable with ``tvm.runtime.load_module`` in any process; with ``cc`` (a cross
    compiler such as ``aarch64-linux-gnu-g++``) linked for another machine."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fcompile = None
    if cc:
        import shutil

        from tvm.support.cc import cross_compiler
        if shutil.which(cc) is None:
            raise ValidationError(Problem("--cc", f"cross compiler `{cc}` not found on PATH (Debian: "
                                                  "apt-get install g++-aarch64-linux-gnu)"))
        fcompile = cross_compiler(cc)
    with quiet_stderr():
        executable.export_library(str(path), fcompile=fcompile)
    return path


def run_library(path: str | Path, x: np.ndarray) -> np.ndarray:
    """Load an exported library and run its ``main`` on ``x`` (CPU)."""
    import tvm
    from tvm import relax

    lib = tvm.runtime.load_module(str(path))
    vm = relax.VirtualMachine(lib, tvm.cpu())
    out = vm["main"](tvm.runtime.tensor(x))
    return out.numpy() if hasattr(out, "numpy") else out[0].numpy()  # a tensor, or a tuple of them


def _input_shape(model: onnx.ModelProto | str | Path) -> list[int]:
    proto = model if isinstance(model, onnx.ModelProto) else _load(model)
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    return [d.dim_value if d.dim_value > 0 else 1 for d in dims]


def measure_tvm(model: onnx.ModelProto | str | Path, threads: int = 1, tune_trials: int = 0,
                db_dir: str | Path | None = None, rpc: str | None = None, repeats: int = 30,
                min_repeat_ms: int = 20, rpc_timeout_s: float = 20.0, target: str | None = None,
                cc: str | None = None) -> Measurement:
    """Median latency (ms) of the compiled model on this host, or on ``rpc`` = ``"HOST:PORT"``;
    ``target`` (e.g. ``llvm -mtriple=aarch64-linux-gnu -mattr=+neon``) and ``cc`` (the cross
    compiler that links the library) build it for the board behind ``rpc`` instead of this host."""
    import tvm
    from tvm import relax

    os.environ.setdefault("TVM_NUM_THREADS", str(threads))
    target_spec = target
    target = parse_target(target_spec, threads)
    if rpc is None and not is_host_target(target):
        raise ValidationError(Problem("--target", f"`{target_spec}` is not this machine: a cross-compiled library "
                                                  "runs on its board, so give --rpc HOST:PORT"))
    if tune_trials and not is_host_target(target):
        raise ValidationError(Problem("--tune", "MetaSchedule tuning measures candidates on this machine; tuning "
                                                f"for `{target_spec}` is not supported (measure untuned, --tune 0)"))
    ex = compile_model(model, threads, tune_trials, db_dir, target=target)
    x = np.random.default_rng(0).standard_normal(_input_shape(model)).astype(np.float32)
    if rpc is None:
        dev = tvm.cpu()
        vm = relax.VirtualMachine(ex, dev)
        where = "local"
    else:
        remote = connect_rpc(rpc, rpc_timeout_s)
        with tempfile.TemporaryDirectory() as tmp:
            lib = export_library(ex, Path(tmp) / "model.so", cc)
            remote.upload(str(lib))
            rlib = remote.load_module("model.so")
        dev = remote.cpu()
        vm = relax.VirtualMachine(rlib, dev)
        where = rpc
    timer = vm.time_evaluator("main", dev, number=1, repeat=repeats, min_repeat_ms=int(min_repeat_ms))
    res = timer(tvm.runtime.tensor(x, device=dev))
    samples = np.asarray(res.results) * 1e3
    return summarize(samples, 1, environment("tvm", threads, tvm=tvm.__version__, target=str(target),
                                             device=where, tune_trials=tune_trials))


def connect_rpc(address: str, timeout_s: float = 20.0):
    """Connect to a TVM RPC server ``HOST:PORT``; no answer is a clear error, not a hang."""
    from tvm import rpc

    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValidationError(Problem("--rpc", f"expected HOST:PORT, got `{address}`"))
    try:
        return rpc.connect(host, int(port), session_timeout=0)
    except Exception as exc:  # noqa: BLE001
        raise TvmError(f"TVM RPC server at {address} does not answer: {str(exc).splitlines()[0]}") from None


def start_rpc_server(host: str = "127.0.0.1", port: int = 9091, port_end: int = 9199):
    """A TVM RPC server in a child process, bound to ``host`` (loopback unless told otherwise)."""
    from tvm import rpc

    return rpc.Server(host=host, port=port, port_end=port_end, silent=True)
