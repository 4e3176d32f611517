"""The three accuracy fidelities behind one call, ``source(arch) -> {"accuracy": fraction, …}``:

- ``ProxyAccuracy``: stand-alone training under a fixed budget (slow, most faithful);
- ``SupernetAccuracy``: weights inherited from the run's supernet, batch norm recalibrated;
- ``PredictorAccuracy``: a regressor fitted on (architecture, supernet accuracy) pairs.

``prepare_accuracy`` builds, once per run, what the last two need (the supernet checkpoint and the
predictor's samples) inside the run directory, so a resumed run reuses them.

A quantized network (``arch.quant``) is scored after post-training quantization of the trained or
inherited weights, calibrated on ``accuracy.calib_images`` training images
(:class:`codesign.quantization.QuantizedAccuracy`): ``accuracy`` is then the quantized accuracy and
``accuracy_float`` the float one. The predictor learns from samples scored that way: the policy is
one of its (one-hot) features.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..arch import ArchConfig
from .datasets import DataSet, load_dataset
from ..errors import Problem, ValidationError
from ..json_io import read_json, write_json_atomic
from ..run import PREDICTOR_SAMPLES_FILE, SUPERNET_FILE
from ..spaces.arch_space import ArchSpace
from ..spaces.hp_space import HyperParams
from ..search.config import SearchConfig
from ..search.executors import RayExecutor
from searchers.base import trains_supernet
from .predictor import AccuracyPredictor
from .rung_checkpoints import DIR_NAME as RUNG_DIR, RungCheckpoints, rung_key
from .training import TrainConfig, train

SAMPLES_FORMAT = "codesign.accuracy_samples.v1"


def load_search_data(cfg: SearchConfig, space: ArchSpace) -> DataSet:
    return load_dataset(cfg.data, resolution=space.resolution, channels=space.in_channels, seed=cfg.data_seed,
                        path=cfg.data_path)


def supernet_path(cfg: SearchConfig, run_dir: Path) -> Path:
    return Path(cfg.accuracy.checkpoint) if cfg.accuracy.checkpoint else run_dir / SUPERNET_FILE


def samples_path(cfg: SearchConfig, run_dir: Path) -> Path:
    return Path(cfg.accuracy.samples_file) if cfg.accuracy.samples_file else run_dir / PREDICTOR_SAMPLES_FILE


def prepare_accuracy(cfg: SearchConfig, space: ArchSpace, run_dir: Path, progress: bool = True) -> dict[str, float]:
    """Train the supernet and/or collect predictor samples when the fidelity needs them and the run
    directory does not hold them yet. Returns the seconds each preparation step took."""
    import time

    timings: dict[str, float] = {}
    fid = cfg.accuracy.fidelity
    needs_supernet = fid == "supernet" or (fid == "predictor" and not cfg.accuracy.samples_file)
    if trains_supernet(cfg.searcher):
        needs_supernet = True
    ckpt = supernet_path(cfg, run_dir)
    if needs_supernet and not ckpt.is_file():
        if cfg.accuracy.checkpoint:
            raise ValidationError(Problem(f"{cfg.source}:accuracy.checkpoint", f"supernet checkpoint {ckpt} not found"))
        t = time.perf_counter()
        if cfg.executor.kind == "ray":
            ckpt.write_bytes(supernet_on_ray(cfg, space))
        else:
            ckpt.write_bytes(trained_supernet_bytes(cfg, space, progress))
        timings["supernet_train_s"] = time.perf_counter() - t
    if fid == "predictor" and not samples_path(cfg, run_dir).is_file():
        if cfg.accuracy.samples_file:
            raise ValidationError(Problem(f"{cfg.source}:accuracy.samples_file",
                                          f"predictor samples file {cfg.accuracy.samples_file} not found"))
        t = time.perf_counter()
        score = SupernetAccuracy(cfg, space, run_dir)  # quantized networks scored after quantization
        rng = np.random.default_rng(cfg.seed + 7919)
        archs = [space.sample(rng) for _ in range(cfg.accuracy.predictor_samples)]
        accs = [score(a)["accuracy"] for a in tqdm(archs, desc="predictor samples", disable=not progress)]
        write_json_atomic(samples_path(cfg, run_dir), {
            "format": SAMPLES_FORMAT, "space": space.name, "source": f"supernet {ckpt.name}, val split",
            "samples": [{"arch": a.to_string(), "accuracy": float(x)} for a, x in zip(archs, accs)]})
        timings["predictor_samples_s"] = time.perf_counter() - t
    return timings


def trained_supernet_bytes(cfg: SearchConfig, space: ArchSpace, progress: bool = False) -> bytes:
    """The run's supernet, trained as ``accuracy.supernet`` says (on its ``device``), as checkpoint bytes."""
    import io

    from .supernet import Supernet
    from .supernet_training import train_supernet

    data = load_search_data(cfg, space)
    net = Supernet(space, seed=cfg.accuracy.supernet.seed)
    train_supernet(net, data, cfg.accuracy.supernet, progress=progress)
    buf = io.BytesIO()
    net.save(buf, extra={"config": cfg.name})
    return buf.getvalue()


def supernet_on_ray(cfg: SearchConfig, space: ArchSpace) -> bytes:
    """Train the run's supernet as one Ray task of the run's cluster, with a whole GPU when a node of
    the cluster has one (the driver stays light); the checkpoint comes back as bytes."""
    import ray

    ex = RayExecutor(cfg.executor)
    try:
        gpu = 1.0 if any(n.get("Resources", {}).get("GPU", 0) >= 1 for n in ray.nodes() if n.get("Alive")) else 0.0
        cpu = float(dict(cfg.executor.resources_per_trial or ()).get("cpu", 1.0))
        task = ray.remote(num_cpus=cpu, num_gpus=gpu, max_retries=1)(trained_supernet_bytes)
        return ray.get(task.remote(cfg, space))
    finally:
        ex.close()


def load_supernet(path: Path, space: ArchSpace):
    """The supernet checkpoint at ``path``, in eval mode; an error if it covers another space."""
    from .supernet import Supernet

    net = Supernet.load(path)
    if net.space.name != space.name or net.space.stages != space.stages:
        raise ValidationError(Problem(str(path), f"supernet was trained on space `{net.space.name}`, "
                                                 f"the search uses `{space.name}`"))
    net.eval()
    return net


class _Quantizing:
    """Scores a trained network: float validation accuracy, and the quantized one for a quantized arch."""

    def __init__(self, cfg: SearchConfig, space: ArchSpace):
        from ..quantization import QuantizedAccuracy

        self.cfg, self.data = cfg, load_search_data(cfg, space)
        self.quantized = QuantizedAccuracy(self.data, calib_images=cfg.accuracy.calib_images)

    def scores(self, model, arch: ArchConfig, float_accuracy: float) -> dict[str, float]:
        if arch.quant is None:
            return {"accuracy": float_accuracy}
        return self.quantized(model, arch.quant, float_accuracy)


class ProxyAccuracy(_Quantizing):
    def __init__(self, cfg: SearchConfig, space: ArchSpace, run_dir: Path):
        super().__init__(cfg, space)
        self.rungs = RungCheckpoints(Path(run_dir) / RUNG_DIR)

    def __call__(self, arch: ArchConfig, hp: HyperParams | None = None, epochs: int | None = None) -> dict[str, float]:
        """Validation accuracy after training ``arch`` with the run's recipe, overridden by the
        candidate's hyperparameters ``hp``. A multi-fidelity searcher's rung (``epochs``) trains the
        first ``epochs`` epochs of the full schedule, continuing the candidate's lower rung where its
        pause is stored (:mod:`codesign.accuracy.rung_checkpoints`); a rung beyond the recipe's
        epochs, or a recipe counted in steps, trains from scratch on a schedule of ``epochs``."""
        recipe = self.cfg.accuracy.train if hp is None else hp.apply(self.cfg.accuracy.train)
        if epochs is None:
            model, res = train(arch.as_float(), self.data, recipe)
            return self.scores(model.eval(), arch, res.val_accuracy)
        epochs = int(epochs)
        if recipe.steps is not None or epochs > recipe.epochs:
            model, res = train(arch.as_float(), self.data, replace(recipe, epochs=epochs, steps=None))
        else:
            model, res = self._rung(arch, hp, recipe, epochs)
        return self.scores(model.eval(), arch, res.val_accuracy)

    def _rung(self, arch: ArchConfig, hp: HyperParams | None, recipe: TrainConfig, epochs: int):
        key = rung_key(arch.to_string(), hp.to_string() if hp is not None else None, recipe)
        resume = self.rungs.deepest_below(key, epochs)
        model, res = train(arch.as_float(), self.data, recipe, stop_after_epochs=epochs, resume=resume)
        if res.checkpoint is not None:
            self.rungs.save(key, res.checkpoint)
        if resume is not None:
            self.rungs.drop_below(key, resume.epochs_done + 1)
        return model, res


class SupernetAccuracy(_Quantizing):
    def __init__(self, cfg: SearchConfig, space: ArchSpace, run_dir: Path):
        super().__init__(cfg, space)
        self.net = load_supernet(supernet_path(cfg, run_dir), space)

    def __call__(self, arch: ArchConfig, hp: HyperParams | None = None, epochs: int | None = None) -> dict[str, float]:
        """Accuracy of ``arch`` with inherited weights (``hp`` and ``epochs`` do not change it: the
        supernet is already trained)."""
        from .supernet_training import inherited_subnet
        from .training import accuracy

        model = inherited_subnet(self.net, arch.as_float(), self.data, calib_images=self.cfg.accuracy.calib_images)
        return self.scores(model, arch, accuracy(model, self.data.val))


class PredictorAccuracy:
    def __init__(self, cfg: SearchConfig, space: ArchSpace, run_dir: Path):
        path = samples_path(cfg, run_dir)
        doc = read_json(path, "predictor samples", SAMPLES_FORMAT)
        try:
            archs = [ArchConfig.from_string(s["arch"]) for s in doc["samples"]]
            accs = [float(s["accuracy"]) for s in doc["samples"]]
        except (KeyError, TypeError) as exc:
            raise ValidationError(Problem(str(path), f"each sample needs `arch` and `accuracy` ({exc})")) from None
        self.predictor = AccuracyPredictor(space).fit(archs, accs, seed=0)

    def __call__(self, arch: ArchConfig, hp: HyperParams | None = None, epochs: int | None = None) -> dict[str, float]:
        """The predictor's accuracy for ``arch`` (learned from supernet scores, quantized ones for a
        quantized network: ``hp`` and ``epochs`` do not change it)."""
        return {"accuracy": float(self.predictor.predict([arch])[0])}


def accuracy_source(cfg: SearchConfig, space: ArchSpace, run_dir: Path):
    fid = cfg.accuracy.fidelity
    if fid == "proxy":
        return ProxyAccuracy(cfg, space, run_dir)
    if fid == "supernet":
        return SupernetAccuracy(cfg, space, run_dir)
    return PredictorAccuracy(cfg, space, run_dir)
