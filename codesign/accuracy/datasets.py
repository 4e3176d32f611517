"""Image classification data sets, all local: nothing is ever downloaded.

* ``digits``: scikit-learn's bundled 8×8 handwritten digits (1,797 images, 10 classes), resized to
  the space's input resolution and repeated over the input channels. The default.
* ``digits_distorted``: the same digits, each drawn four times under a random rotation (±35°), scale
  (0.65–1.05), shear and shift, over a faint fragment of another digit and Gaussian noise (σ 0.25 of
  full ink). Generated from a fixed generator, so it is one data set everywhere. Plain digits is too
  easy to rank networks on: every reasonable network gets 98–99.5%, and two trainings of one network
  differ by as much as two networks do. On this version compact-space networks trained for 3–6
  epochs spread over about 80–95%.
  Splits keep the four copies of a digit together, so no test digit is seen in training.
* ``cifar10``: CIFAR-10 in its python format (``data_batch_1..5``, ``test_batch``) from a local
  directory, read with a restricted unpickler that only builds plain containers and numpy arrays.
* ``folder``: an image folder, one sub-folder per class (read with Pillow).
* ``synthetic``: generated class-dependent patterns, for tests.

A data set is split into train / validation / test once, from the seed, and normalised with the
training split's per-channel mean and standard deviation.
"""
from __future__ import annotations

import io
import pickle
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import Problem, ValidationError
from .threads import available_cores

DATASETS = ("digits", "digits_distorted", "cifar10", "folder", "synthetic")
DISTORTED_COPIES = 4


DIGITS_CLASSES = tuple(str(d) for d in range(10))
#: CIFAR-10's label names in label order (its batches.meta)
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


@dataclass
class Split:
    x: torch.Tensor  # (N, C, H, W) float32, normalised
    y: torch.Tensor  # (N,) int64

    def __len__(self) -> int:
        return len(self.y)


@dataclass
class DataSet:
    name: str
    train: Split
    val: Split
    test: Split
    num_classes: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    class_names: tuple[str, ...] = ()  # label of each output index (its number when unnamed)

    @property
    def labels(self) -> tuple[str, ...]:
        """What each output index means: the class names, or the indices as text."""
        return self.class_names or tuple(str(i) for i in range(self.num_classes))

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(self.train.x.shape[1:])  # type: ignore[return-value]


def load_dataset(name: str, resolution: int = 32, channels: int = 3, seed: int = 0, path: str | Path | None = None,
                 fractions: tuple[float, float] = (0.15, 0.15), synthetic_size: int = 600) -> DataSet:
    """Load, resize to ``resolution`` px, split (validation and test ``fractions``) and normalise."""
    groups, names = None, ()
    if name == "digits":
        x, y = _digits()
        names = DIGITS_CLASSES
    elif name == "digits_distorted":
        x, y, groups = _distorted_digits(DISTORTED_COPIES)
        names = DIGITS_CLASSES
    elif name == "cifar10":
        x, y = _cifar10(_need_path(name, path))
        names = CIFAR10_CLASSES
    elif name == "folder":
        root = _need_path(name, path)
        x, y = _image_folder(root)
        names = tuple(p.name for p in _class_folders(root))
    elif name == "synthetic":
        x, y = _synthetic(synthetic_size, seed)
    else:
        raise ValidationError(Problem("data", f"unknown data set `{name}` (expected one of: {', '.join(DATASETS)})"))
    x = _to_shape(torch.from_numpy(x), resolution, channels)
    y = torch.from_numpy(y.astype(np.int64))
    return replace(_split(name, x, y, seed, fractions, groups), class_names=names)


def _need_path(name: str, path: str | Path | None) -> Path:
    if path is None:
        raise ValidationError(Problem(f"data {name}", "a local directory is required (`path`); nothing is downloaded"))
    p = Path(path)
    if not p.is_dir():
        raise ValidationError(Problem(str(p), f"expected a directory for data set `{name}`"))
    return p


def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.images[:, None, :, :] / 16.0).astype(np.float32), d.target


def _distorted_digits(copies: int, size: int = 32) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``copies`` distorted drawings of each digit at ``size`` px, their labels, and the index of the
    source digit (the split's group). Affine warp by inverse mapping (``affine_grid``): rotation,
    scale, shear, shift; then the pixelwise maximum with half the intensity of another digit rolled
    by up to half the image; then Gaussian noise. Ink is 0..1 before the noise."""
    base, labels = _digits()
    img = F.interpolate(torch.from_numpy(base), size=(size, size), mode="bilinear", align_corners=False)
    n = len(img)
    rng = np.random.default_rng(20261124)  # fixed: the data set must not depend on the split seed
    out = []
    for _ in range(copies):
        angle, scale = np.deg2rad(rng.uniform(-35, 35, n)), rng.uniform(0.65, 1.05, n)
        shear, shift = rng.uniform(-0.3, 0.3, n), rng.uniform(-0.2, 0.2, (n, 2))
        cos, sin = np.cos(angle), np.sin(angle)
        theta = np.stack([np.stack([cos / scale, (shear - sin) / scale, shift[:, 0]], 1),
                          np.stack([sin / scale, cos / scale, shift[:, 1]], 1)], 1).astype(np.float32)
        grid = F.affine_grid(torch.from_numpy(theta), [n, 1, size, size], align_corners=False)
        x = F.grid_sample(img, grid, align_corners=False, padding_mode="zeros")
        other = img[torch.from_numpy(rng.integers(0, n, n))]
        rolls = rng.integers(-size // 2, size // 2 + 1, (n, 2))
        clutter = torch.stack([torch.roll(o, (int(dy), int(dx)), (-2, -1)) for o, (dy, dx) in zip(other, rolls)])
        x = torch.maximum(x, 0.5 * clutter)
        out.append(x + 0.25 * torch.from_numpy(rng.standard_normal(x.shape).astype(np.float32)))
    return torch.cat(out).numpy(), np.tile(labels, copies), np.tile(np.arange(n), copies)


def _synthetic(n: int, seed: int, classes: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Bars at class-dependent orientations plus noise: learnable in a few steps, for tests."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, size=n)
    grid = np.linspace(-1, 1, 16)
    xx, yy = np.meshgrid(grid, grid)
    x = np.empty((n, 1, 16, 16), dtype=np.float32)
    for i, c in enumerate(y):
        angle = np.pi * c / classes
        x[i, 0] = (np.abs(np.cos(angle) * yy - np.sin(angle) * xx) < 0.25) + 0.3 * rng.standard_normal((16, 16))
    return x, y


class _SafeUnpickler(pickle.Unpickler):
    """Builds only containers, strings, numbers and numpy arrays (CIFAR-10's python format)."""

    _ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
                ("numpy._core.multiarray", "scalar")}

    def find_class(self, module: str, name: str):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load `{module}.{name}`: only numpy arrays are allowed")


def _cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    if not path.is_file():
        raise ValidationError(Problem(str(path), "CIFAR-10 batch file not found (expected the python format: "
                                                 "data_batch_1..5 and test_batch)"))
    try:
        d = _SafeUnpickler(io.BytesIO(path.read_bytes()), encoding="bytes").load()
        data = np.asarray(d[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
        labels = np.asarray(d[b"labels"], dtype=np.int64)
    except (pickle.UnpicklingError, KeyError, ValueError, EOFError, TypeError, AttributeError) as exc:
        raise ValidationError(Problem(str(path), f"not a CIFAR-10 python batch ({exc})")) from None
    if len(data) != len(labels):
        raise ValidationError(Problem(str(path), f"{len(data)} images but {len(labels)} labels"))
    return data, labels


def _cifar10(root: Path) -> tuple[np.ndarray, np.ndarray]:
    parts = [_cifar_batch(root / f"data_batch_{i}") for i in range(1, 6)] + [_cifar_batch(root / "test_batch")]
    x = np.concatenate([p[0] for p in parts]).astype(np.float32) / 255.0
    return x, np.concatenate([p[1] for p in parts])


def _class_folders(root: Path) -> list[Path]:
    """An image folder's classes: its sub-folders in name order (output index = position)."""
    return sorted(p for p in root.iterdir() if p.is_dir())


#: images per decoding batch, and the folder size from which decoding runs in worker processes
FOLDER_BATCH, FOLDER_PARALLEL_FROM = 256, 512


class _FolderImages(torch.utils.data.Dataset):
    """The files of an image folder, decoded with Pillow to 64×64 RGB (C, H, W) float arrays in [0, 1];
    an unreadable file becomes its error text (raised by the reading process, naming the file)."""

    def __init__(self, files: list[Path]):
        self.files = files

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int):
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(self.files[i]) as im:
                arr = np.asarray(im.convert("RGB").resize((64, 64)), dtype=np.float32) / 255.0
        except (UnidentifiedImageError, OSError) as exc:
            return f"not a readable image ({exc})"
        return torch.from_numpy(arr.transpose(2, 0, 1).copy())


def _collate(items: list):
    return items


def _image_folder(root: Path) -> tuple[np.ndarray, np.ndarray]:
    """An image folder decoded once into memory, a large one by DataLoader worker processes (up to
    4, in file order). Training then cuts batches from memory (on CUDA: from the device, or staged
    through pinned memory, see :mod:`codesign.accuracy.devices`)."""
    classes = _class_folders(root)
    if len(classes) < 2:
        raise ValidationError(Problem(str(root), f"expected one sub-folder per class (at least 2), found {len(classes)}"))
    files, ys = [], []
    for label, folder in enumerate(classes):
        found = sorted(f for f in folder.iterdir() if f.is_file())
        if not found:
            raise ValidationError(Problem(str(folder), "class folder holds no images"))
        files += found
        ys += [label] * len(found)
    workers = min(4, available_cores()) if len(files) >= FOLDER_PARALLEL_FROM else 0
    loader = torch.utils.data.DataLoader(_FolderImages(files), batch_size=FOLDER_BATCH, num_workers=workers,
                                         collate_fn=_collate)
    xs = []
    for batch in loader:
        for item in batch:
            if isinstance(item, str):
                raise ValidationError(Problem(str(files[len(xs)]), item))
            xs.append(item.numpy())
    return np.stack(xs), np.asarray(ys)


def _to_shape(x: torch.Tensor, resolution: int, channels: int) -> torch.Tensor:
    if x.shape[-1] != resolution or x.shape[-2] != resolution:
        x = F.interpolate(x, size=(resolution, resolution), mode="bilinear", align_corners=False)
    if x.shape[1] == channels:
        return x.contiguous()
    if x.shape[1] == 1:
        return x.repeat(1, channels, 1, 1)
    if channels == 1:
        return x.mean(dim=1, keepdim=True)
    raise ValidationError(Problem("data", f"cannot turn {x.shape[1]}-channel images into {channels} channels"))


def _split(name: str, x: torch.Tensor, y: torch.Tensor, seed: int, fractions: tuple[float, float],
           groups: np.ndarray | None = None) -> DataSet:
    """Random split from ``seed``; with ``groups`` (one id per image), whole groups go to one split."""
    if groups is None:
        groups = np.arange(len(y))
    ids = np.unique(groups)
    n = len(ids)
    perm = ids[np.random.default_rng(seed).permutation(n)]
    n_val, n_test = int(round(n * fractions[0])), int(round(n * fractions[1]))
    part, rank = np.zeros(int(ids.max()) + 1, dtype=np.int64), np.empty(int(ids.max()) + 1, dtype=np.int64)
    part[perm[:n_val]], part[perm[n_val:n_val + n_test]] = 1, 2  # the rest (0) is training
    rank[perm] = np.arange(n)
    images = np.argsort(rank[groups], kind="stable")  # group by group, in the permutation's order
    idx_val, idx_test, idx_train = (torch.from_numpy(images[part[groups[images]] == k]) for k in (1, 2, 0))
    mean = x[idx_train].mean(dim=(0, 2, 3))
    std = x[idx_train].std(dim=(0, 2, 3)).clamp_min(1e-6)
    x = (x - mean[None, :, None, None]) / std[None, :, None, None]
    return DataSet(name, Split(x[idx_train], y[idx_train]), Split(x[idx_val], y[idx_val]),
                   Split(x[idx_test], y[idx_test]), int(y.max()) + 1, tuple(mean.tolist()), tuple(std.tolist()))


def augment(x: torch.Tensor, gen: torch.Generator, pad: int = 2, flip: bool = False) -> torch.Tensor:
    """Random crop (zero padding of ``pad`` px) and optional horizontal flip, per image."""
    n, _, h, w = x.shape
    padded = F.pad(x, (pad, pad, pad, pad))
    dev = x.device  # the offsets come from the CPU generator wherever x is: the same crops on every device
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=gen).to(dev)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=gen).to(dev)
    rows = (torch.arange(h, device=dev)[None, :] + dy[:, None])  # (n, h)
    cols = (torch.arange(w, device=dev)[None, :] + dx[:, None])
    out = padded[torch.arange(n, device=dev)[:, None, None, None],
                 torch.arange(x.shape[1], device=dev)[None, :, None, None],
                 rows[:, None, :, None], cols[:, None, None, :]]
    if flip:
        mask = (torch.rand(n, generator=gen) < 0.5).to(dev)
        out[mask] = out[mask].flip(-1)
    return out
