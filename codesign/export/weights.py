"""Trained weights for an exported network: inherited from the run's supernet, or trained stand-alone.

``weights.pt`` holds ``{"arch": <architecture string>, "state_dict": …}`` and loads with
``torch.load(..., weights_only=True)``; :func:`load_exported_model` rebuilds the network from it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..arch import ArchConfig
from ..errors import Problem, ValidationError
from ..workload.model_builder import IBNNet, build_model
from ..accuracy.sources import load_search_data, load_supernet, supernet_path
from ..search.config import SearchConfig
from ..spaces.arch_space import ArchSpace
from ..accuracy.training import accuracy
from .files import sha256_of

WEIGHT_SOURCES = ("auto", "supernet", "standalone")


def trained_network(cfg: SearchConfig, space: ArchSpace, run_dir: Path, arch: ArchConfig, source: str = "auto",
                    progress: bool = False) -> tuple[IBNNet, dict[str, Any], torch.Tensor]:
    """``arch``'s network with trained weights; where they came from, with their measured accuracy and
    the input preprocessing; and 8 real test images (normalised, N×C×H×W) to check exports on.

    ``supernet``: the run's supernet checkpoint, weights inherited and batch norm recalibrated on
    ``accuracy.calib_images`` training images (what the search's supernet fidelity scored);
    ``standalone``: trained from scratch with the run's ``accuracy.train`` budget;
    ``auto``: the supernet when the run has one, stand-alone otherwise.
    """
    if source not in WEIGHT_SOURCES:
        raise ValidationError(Problem("--weights", f"expected one of {', '.join(WEIGHT_SOURCES)}, got `{source}`"))
    ckpt = supernet_path(cfg, run_dir)
    if source == "auto":
        source = "supernet" if ckpt.is_file() else "standalone"
    data = load_search_data(cfg, space)
    if source == "supernet":
        if not ckpt.is_file():
            raise ValidationError(Problem("--weights", f"`supernet` needs the run's supernet checkpoint, "
                                                       f"{ckpt} does not exist; use --weights standalone"))
        from ..accuracy.supernet_training import inherited_subnet

        model = inherited_subnet(load_supernet(ckpt, space), arch, data, calib_images=cfg.accuracy.calib_images)
        info: dict[str, Any] = {"source": "supernet-inherited", "checkpoint": str(ckpt),
                                "checkpoint_sha256": sha256_of(ckpt), "calib_images": cfg.accuracy.calib_images}
    else:
        from ..accuracy.training import train

        model, res = train(arch, data, cfg.accuracy.train, progress=progress)
        model.eval()
        info = {"source": "standalone", "train": cfg.accuracy.train.to_dict(), "train_seconds": res.seconds,
                "images_seen": res.images_seen}
    info.update({"data": cfg.data, "val_accuracy": accuracy(model, data.val),
                 "test_accuracy": accuracy(model, data.test), "n_val": len(data.val), "n_test": len(data.test),
                 "class_names": list(data.labels),
                 "preprocessing": {"input_shape": [1, *data.input_shape], "layout": "NCHW", "dtype": "float32",
                                   "mean": list(data.mean), "std": list(data.std),
                                   "rule": "intensities scaled to [0, 1], resized bilinearly to the input size, "
                                           "then (x - mean) / std per channel"}})
    return model, info, data.test.x[:8]


def save_weights(model: IBNNet, path: Path) -> None:
    torch.save({"arch": model.arch.to_string(), "state_dict": model.state_dict()}, str(path))


def load_exported_model(path: str | Path) -> IBNNet:
    """The network saved by an export (``weights.pt``), in eval mode."""
    p = Path(path)
    if not p.is_file():
        raise ValidationError(Problem(str(p), "weights file not found"))
    try:
        ckpt = torch.load(str(p), map_location="cpu", weights_only=True)
        model = build_model(ArchConfig.from_string(ckpt["arch"]), seed=0)
        model.load_state_dict(ckpt["state_dict"])
    except ValidationError:
        raise
    except Exception as exc:  # noqa: BLE001 - torch raises many types for a foreign or corrupt file
        raise ValidationError(Problem(str(p), f"not a codesign weights file ({type(exc).__name__})")) from None
    return model.eval()
