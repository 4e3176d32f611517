"""Scale: trials per second on 1 and 2 workers (pool and Ray), the store's cost per trial on SQLite and
PostgreSQL, killed workers and killed drivers on both stores, and CPU vs CUDA training step time.

    python benchmarks/scale.py [--quick]

**Throughput** (``trials_per_s``: evaluator → executor → workers → trials/s, over the search's own
elapsed time, executor start included): the *cheap* evaluator is a two-line function of a 4^4
categorical space (``CHEAP_TRIALS`` trials, random search) — it measures the engine's per-trial
overhead (pickling the evaluator, the store's writes, the executor's round trip); *proxy* trains each
network of the quickstart spaces on digits for ``PROXY_STEPS`` steps at batch 64 with one torch thread
(``PROXY_TRIALS`` trials, asked ``PROXY_BATCH`` at a time for 1 and 2 workers alike, so both run the
same trials). ``scaling_efficiency_2_workers`` = trials/s with 2 workers / (2 × with 1), per
evaluator and executor; the headline is the pool on proxy training. ``--throughput-only`` measures
just these (own section).

**Store** (``store_ms_per_trial``): the cheap search inline (no executor), milliseconds per trial on a
SQLite file in the run directory and on a PostgreSQL server on loopback (``tests/postgres_server.py``:
Debian's binaries, a fresh cluster), both including the evaluator's microseconds.

**Kills.** ``worker_kills``: pool workers SIGKILLed under a trial (the testing hook
``CODESIGN_FAULT=die_once:2``: every candidate whose CRC-32 is even kills its worker the first time it
runs), 2 workers; each such trial must run again and complete. ``driver_kills``: the CLI search of
``tests/kill_resume.py`` (evolution, 24 trials) SIGKILLed at random points and resumed, ``KILLS``
times on SQLite and as many on PostgreSQL. ``trials_lost`` counts finished trials missing or changed
after a kill plus killed-worker trials not completed; ``resume_equals_uninterrupted``: every killed run
ends with the trials of the same search run without kills.

**Devices** (``train_step_ms``): one proxy-training step of the default space's largest network at
batch 256, CPU, and CUDA when torch sees one (null otherwise).

``--quick``: fewer trials (proxy: 2 of 10 steps), one kill per store, the same keys.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from benchmarks.bench_io import publish  # noqa: E402
from codesign.testing import TOY_OBJECTIVES, TOY_SPACE, toy_evaluator  # noqa: E402

CHEAP_TRIALS, PROXY_TRIALS, PROXY_STEPS, KILLS, WORKER_KILL_TRIALS = 64, 16, 40, 10, 48
#: proxy trials asked per batch, whatever the workers: 1 and 2 workers run the same trials, and the
#: batch barrier (the loop tells a searcher a batch's results together) idles a worker less often
PROXY_BATCH = 8
def _cheap_study(run_dir: Path, storage: str | None = None, name: str = "scale"):
    from codesign import CategoricalSpace, Study

    return Study(CategoricalSpace(TOY_SPACE), toy_evaluator, TOY_OBJECTIVES,
                 searcher="random", run_dir=run_dir, storage=storage, name=name, seed=0, batch=8)


def cheap_throughput(kind: str, workers: int, trials: int) -> float:
    from codesign.search.executors import ExecutorConfig

    with tempfile.TemporaryDirectory() as tmp:
        s = _cheap_study(Path(tmp))
        t = time.perf_counter()
        s.optimize(trials=trials, executor=ExecutorConfig(kind=kind, workers=workers, timeout_s=120))
        return trials / (time.perf_counter() - t)


def proxy_throughput(kind: str, workers: int, trials: int, steps: int) -> float:
    from codesign.search.config import SearchConfig
    from codesign.search.loop import run_search

    doc = SearchConfig.from_yaml(ROOT / "examples" / "quickstart.yaml").to_dict()
    doc.update({"measure": {"runtime": "none"}, "budget": {"trials": trials},
                "accuracy": {"fidelity": "proxy", "train": {"steps": steps, "batch_size": 64, "threads": 1}},
                "searcher": {"name": "random", "batch": PROXY_BATCH},
                "executor": {"kind": kind, "workers": workers, "timeout_s": 600}})
    with tempfile.TemporaryDirectory() as tmp:
        study = run_search(SearchConfig.from_dict(doc, source="scale"), Path(tmp) / "run", progress=False)
        return trials / float(study.store.info("elapsed_s"))


def store_cost(url: str | None, trials: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        s = _cheap_study(Path(tmp), storage=url, name=f"store-{time.time_ns()}")
        t = time.perf_counter()
        s.optimize(trials=trials)
        return 1e3 * (time.perf_counter() - t) / trials


def worker_kills(trials: int) -> dict:
    from codesign.search.executors import ExecutorConfig

    with tempfile.TemporaryDirectory() as tmp:
        os.environ.update({"CODESIGN_FAULT": "die_once:2", "CODESIGN_FAULT_STATE": tmp})
        try:
            s = _cheap_study(Path(tmp) / "run")
            s.optimize(trials=trials, executor=ExecutorConfig(kind="pool", workers=2, timeout_s=120))
        finally:
            os.environ.pop("CODESIGN_FAULT")
            os.environ.pop("CODESIGN_FAULT_STATE")
        kills = len(list(Path(tmp).glob("died-*")))
        rows = s.trials()
        done = {r.index for r in rows if r.state == "COMPLETE"}
        return {"kills": kills, "lost": trials - len(done)}


def driver_kills(kills: int, storage: str | None, tag: str) -> dict:
    from kill_resume import run_with_kills, uninterrupted, write_config

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        out = {}
        for name in ("straight", "killed"):
            cfg = write_config(tmp / f"{name}.yaml", trials=24)
            if storage:
                cfg.write_text(cfg.read_text().replace("name: killed", f"name: {tag}-{name}-{time.time_ns()}")
                               + f"storage: {storage}\n")
            out[name] = cfg
        straight = uninterrupted(out["straight"], tmp / "straight")
        rep = run_with_kills(out["killed"], tmp / "killed", kills=kills, rng=np.random.default_rng(11))
        return {"kills": rep.kills, "lost": rep.trials_lost, "equal": rep.final == straight and not rep.problems,
                "problems": rep.problems[:3]}


def train_step_ms(cpu_steps: int) -> dict:
    import torch
    import torch.nn.functional as F

    from codesign.spaces.arch_space import ArchSpace
    from codesign.workload.model_builder import build_model

    space = ArchSpace.default()
    arch = space.decode(space.extreme_values(largest=True))
    out = {}
    for dev in ("cpu", "cuda"):
        if dev == "cuda" and not torch.cuda.is_available():
            out[dev] = None
            continue
        from codesign.accuracy.devices import MixedPrecision

        model = build_model(arch, seed=0).to(dev).train()
        amp = MixedPrecision(torch.device(dev))
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        x = torch.randn(256, 3, 32, 32, device=dev)
        y = torch.randint(0, 10, (256,), device=dev)
        times = []
        for _ in range(cpu_steps if dev == "cpu" else 30):
            if dev == "cuda":
                torch.cuda.synchronize()
            t = time.perf_counter()
            with amp.autocast():
                loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            amp.backward(loss)
            amp.step(opt)
            if dev == "cuda":
                torch.cuda.synchronize()
            times.append(1e3 * (time.perf_counter() - t))
        out[dev] = float(np.median(times[1:]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer trials and one kill per store")
    ap.add_argument("--throughput-only", action="store_true", help="only trials per second and scaling (own section)")
    args = ap.parse_args()
    from postgres_server import PASSWORD, PostgresServer

    t0 = time.perf_counter()
    cheap_n, proxy_n, kills, wk = (16, 2, 1, 12) if args.quick else (CHEAP_TRIALS, PROXY_TRIALS, KILLS, WORKER_KILL_TRIALS)
    tps: dict = {"cheap": {}, "proxy": {}}
    for kind in ("pool", "ray"):
        tps["cheap"][kind] = {w: cheap_throughput(kind, w, cheap_n) for w in (1, 2)}
        tps["proxy"][kind] = {w: proxy_throughput(kind, w, proxy_n, 10 if args.quick else PROXY_STEPS) for w in (1, 2)}
        print(f"{kind}: cheap {tps['cheap'][kind]}, proxy {tps['proxy'][kind]}", flush=True)
    eff = {ev: {k: v[2] / (2 * v[1]) for k, v in per.items()} for ev, per in tps.items()}
    if args.throughput_only:
        results = {"trials_per_s": tps, "scaling_efficiency_2_workers": eff["proxy"]["pool"],
                   "scaling_efficiency_detail": eff, "proxy_trials": proxy_n, "seconds": round(time.perf_counter() - t0)}
        publish("scale_throughput" + ("_quick" if args.quick else ""), results, "python benchmarks/scale.py "
                "--throughput-only" + (" --quick" if args.quick else ""), notes=__doc__.split("\n\n", 2)[2])
        print(json.dumps(results))
        return
    server, pg_url, why = PostgresServer(), None, None
    why = server.why_not()
    if why is None:
        pg_url = server.start()
        os.environ["CODESIGN_DB_PASSWORD"] = PASSWORD
    try:
        store = {"sqlite": store_cost(None, cheap_n), "postgresql": store_cost(pg_url, cheap_n) if pg_url else None}
        print(f"store ms/trial {store}", flush=True)
        workers = worker_kills(wk)
        drivers = {"sqlite": driver_kills(kills, None, "lite")}
        if pg_url:
            drivers["postgresql"] = driver_kills(kills, pg_url, "pg")
        print(f"worker kills {workers}; driver kills {drivers}", flush=True)
    finally:
        server.stop()
    results = {
        "trials_per_s": tps,
        "scaling_efficiency_2_workers": eff["proxy"]["pool"],
        "scaling_efficiency_detail": eff,
        "store_ms_per_trial": store,
        "worker_kills": workers["kills"],
        "driver_kills": {k: v["kills"] for k, v in drivers.items()},
        "trials_lost": workers["lost"] + sum(v["lost"] for v in drivers.values()),
        "resume_equals_uninterrupted": all(v["equal"] for v in drivers.values()),
        "driver_kill_detail": drivers,
        "postgresql": "started on loopback" if pg_url else f"skipped: {why}",
        "train_step_ms": train_step_ms(3 if args.quick else 6),
        "seconds": round(time.perf_counter() - t0),
    }
    publish("scale" + ("_quick" if args.quick else ""), results,
            "python benchmarks/scale.py" + (" --quick" if args.quick else ""), notes=__doc__.split("\n\n", 2)[2])
    print(json.dumps(results))


if __name__ == "__main__":
    main()
