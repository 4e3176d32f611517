"""Rung checkpoints: a multi-fidelity search's lower-rung trainings, kept so that a promoted
candidate continues where its rung paused instead of training again from scratch (as Ray Tune's
``HyperBandForBOHB`` pauses and resumes trials).

A rung at ``e`` epochs trains the first ``e`` epochs of the full schedule (the learning rate follows
the run's whole ``accuracy.train.epochs``), pauses, and the pause is stored here under the
candidate's key; the next rung loads the deepest pause below it and trains on. Paused and continued
equals trained straight through (:func:`codesign.accuracy.training.train`), so this directory is a
pure cache: a pause that is missing (another machine's disk, evicted, deleted, a killed worker's
half-written file) only costs the time to train those epochs again, never a different result. It
holds at most ``max_bytes`` (``MAX_BYTES`` by default), the oldest files evicted first.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import torch

from .training import TrainCheckpoint, TrainConfig

#: the folder of a run directory that holds them
DIR_NAME = "rung_checkpoints"
#: bytes the folder may hold before the oldest files are evicted (1 GiB)
MAX_BYTES = 1 << 30
_FIELDS = tuple(TrainCheckpoint.__dataclass_fields__)
_FILE = re.compile(r"^(?P<key>[0-9a-f]{20})-e(?P<epochs>\d+)\.pt$")


def rung_key(arch_key: str, hp_key: str | None, recipe: TrainConfig) -> str:
    """The key of one candidate's training: its network, hyperparameters and full training recipe."""
    doc = json.dumps({"arch": arch_key, "hp": hp_key, "recipe": recipe.to_dict()}, sort_keys=True)
    return hashlib.sha1(doc.encode()).hexdigest()[:20]


class RungCheckpoints:
    def __init__(self, root: Path, max_bytes: int = MAX_BYTES):
        self.root, self.max_bytes = Path(root), int(max_bytes)

    def deepest_below(self, key: str, epochs: int) -> TrainCheckpoint | None:
        """The stored pause of ``key`` with the most epochs below ``epochs`` (``None`` if none loads)."""
        for _, path in sorted(self._pauses(key, epochs), reverse=True):
            try:  # plain tensors, numbers and containers only: nothing in the file can run code
                doc = torch.load(str(path), map_location="cpu", weights_only=True)
                return TrainCheckpoint(**{name: doc[name] for name in _FIELDS})
            except Exception:  # a half-written or foreign file: the cache just misses
                continue
        return None

    def save(self, key: str, ckpt: TrainCheckpoint) -> None:
        """Store ``ckpt`` (written to a temporary name, then renamed: a reader never sees half a file)."""
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / f"{key}-e{ckpt.epochs_done}.pt"
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        torch.save({name: getattr(ckpt, name) for name in _FIELDS}, str(tmp))
        os.replace(tmp, path)
        self._evict()

    def drop_below(self, key: str, epochs: int) -> None:
        """Delete ``key``'s pauses below ``epochs`` (a candidate is promoted once: they are spent)."""
        for _, path in self._pauses(key, epochs):
            path.unlink(missing_ok=True)

    def _pauses(self, key: str, below: int) -> list[tuple[int, Path]]:
        """(epochs, file) of ``key``'s stored pauses below ``below`` epochs."""
        return [(int(m["epochs"]), p) for p in self._files()
                if (m := _FILE.match(p.name)) and m["key"] == key and int(m["epochs"]) < below]

    def _files(self) -> list[Path]:
        return list(self.root.glob("*.pt")) if self.root.is_dir() else []

    def _evict(self) -> None:
        entries = []
        for p in self._files():
            try:
                st = p.stat()
            except FileNotFoundError:  # another worker evicted it first
                continue
            entries.append((st.st_mtime, st.st_size, p))
        total = sum(size for _, size, _ in entries)
        for _, size, p in sorted(entries):
            if total <= self.max_bytes:
                break
            p.unlink(missing_ok=True)
            total -= size
