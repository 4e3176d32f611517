"""Which networks to measure on a new device: a few, spread over the workload-feature space."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from codesign.errors import Problem, ValidationError
from codesign.spaces import ArchSpace
from codesign.arch import ArchConfig
from codesign.nets import FAMILIES
from codesign.nets import family_of, network_module

FAMILY_SPACES = ("nasbench201", "fbnet")


def sample_space(space: str, n: int, seed: int) -> list[str]:
    """``n`` distinct architecture strings from a network family (``nasbench201``, ``fbnet``) or an
    MBConv architecture space (a shipped name such as ``ibn_32_compact`` or a YAML file)."""
    rng = np.random.default_rng(seed)
    if space in FAMILY_SPACES:
        draw = lambda: FAMILIES[space].sample(rng)  # noqa: E731
    else:
        arch_space = ArchSpace.resolve(space)
        draw = lambda: arch_space.sample(rng).to_string()  # noqa: E731
    out: dict[str, None] = {}
    for _ in range(20 * n):
        out[draw()] = None
        if len(out) == n:
            break
    return list(out)


def spread_subset(features: np.ndarray, n: int, seed: int = 0) -> list[int]:
    """``n`` row indices chosen by farthest-point sampling over standardised log features: the
    smallest and largest networks and a spread between them, rather than ``n`` look-alikes."""
    if n > len(features):
        raise ValidationError(Problem("-n", f"asked for {n} networks but only {len(features)} are available"))
    z = np.log1p(np.maximum(features, 0.0))
    z = z[:, z.std(axis=0) > 1e-9]  # constant features (up to rounding) carry no spread
    z = (z - z.mean(axis=0)) / z.std(axis=0) if z.size else np.zeros((len(features), 1))
    total = z.sum(axis=1)
    chosen = [int(np.argmin(total)), int(np.argmax(total))][: min(n, 2 if len(features) > 1 else 1)]
    dist = np.min(np.linalg.norm(z[:, None, :] - z[None, chosen, :], axis=2), axis=1)
    while len(chosen) < n:
        i = int(np.argmax(dist))
        chosen.append(i)
        dist = np.minimum(dist, np.linalg.norm(z - z[i], axis=1))
    return chosen


def onnx_files(folder: str | Path) -> list[str]:
    files = sorted(str(p) for p in Path(folder).glob("*.onnx"))
    if not files:
        raise ValidationError(Problem(str(folder), "no .onnx files in this folder"))
    return files


def export_network(network: str, path: Path, batch: int) -> None:
    """Write ``network`` (an architecture string of any family) as ONNX."""
    from codesign.workload.onnx_export import export_onnx

    if family_of(network) == "ibn":
        export_onnx(ArchConfig.from_string(network), path, batch=batch)
    else:
        export_onnx(network_module(network), path, input_shape=(batch, 3, 32, 32))
