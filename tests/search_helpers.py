"""Cheap search configurations for tests: accuracy from a predictor fitted on a small samples file."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from codesign.layer import workload_totals
from codesign.search.config import SearchConfig
from codesign.spaces.arch_space import ArchSpace
from codesign.workload.from_arch import arch_workload


def write_samples(path: Path, n: int = 40, seed: int = 0) -> Path:
    """(architecture, accuracy) pairs where accuracy grows with log MACs — enough for the loop's mechanics."""
    space = ArchSpace.resolve("ibn_32_compact")
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(n):
        a = space.sample(rng)
        macs = workload_totals(arch_workload(a))["macs"]
        samples.append({"arch": a.to_string(), "accuracy": float(np.clip(0.5 + 0.08 * np.log10(macs) - 0.3, 0, 1))})
    path.write_text(json.dumps({"format": "codesign.accuracy_samples.v1", "space": space.name, "samples": samples}))
    return path


def cheap_config(tmp_path: Path, **overrides) -> SearchConfig:
    samples = tmp_path / "samples.json"
    if not samples.exists():
        write_samples(samples)
    doc = {
        "name": "cheap", "seed": 3,
        "space": {"arch": "ibn_32_compact", "hw": "nahas_like"},
        "accuracy": {"fidelity": "predictor", "samples_file": str(samples)},
        "objectives": [{"metric": "accuracy"}, {"metric": "latency_ms"}, {"metric": "energy_mj"}],
        "reward": {"kind": "mnas_soft", "targets": {"latency_ms": 0.5, "energy_mj": 0.05}},
        "searcher": {"name": "random", "batch": 4},
        "budget": {"trials": 12},
    }
    for key, value in overrides.items():
        doc[key] = value
    return SearchConfig.from_dict(doc, source="test.yaml")
