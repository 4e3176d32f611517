"""Data sets, proxy training and the elastic supernet, used the way a search uses them."""
import pickle

import numpy as np
import pytest
import torch

from codesign import ArchConfig, ValidationError
from codesign.accuracy.datasets import load_dataset
from codesign.spaces import ArchSpace
from codesign.accuracy.supernet import Supernet, recalibrate_batch_norm
from codesign.accuracy.supernet_training import (SupernetTrainConfig, sample_training_subnet, subnet_accuracy,
                                        train_supernet)
from codesign.accuracy.training import TrainConfig, accuracy, train

TINY_SPACE = ArchSpace.from_dict({
    "name": "tiny", "resolution": 16, "in_channels": 3, "num_classes": 4,
    "stem": {"channels": [8, 12]}, "head": {"channels": [16, 32]},
    "stages": [
        {"stride": 1, "depth": 1, "channels": 8, "kernel": [3, 5], "expansion": 1, "block_type": ["ibn", "fused_ibn"]},
        {"stride": 2, "depth": [1, 2], "channels": [12, 16], "kernel": [3, 5, 7], "expansion": [1, 3],
         "block_type": ["ibn", "fused_ibn"], "se": [0, 0.25]},
        {"stride": 2, "depth": [1, 2], "channels": [16, 24], "kernel": [3, 5], "expansion": [3, 6], "se": [0, 0.5],
         "activation": ["relu", "hswish"]},
    ]})


@pytest.fixture(scope="module")
def synthetic():
    return load_dataset("synthetic", resolution=16, seed=0)


def test_digits_is_bundled_split_and_normalised():
    d = load_dataset("digits", resolution=32, seed=3)
    assert d.input_shape == (3, 32, 32) and d.num_classes == 10
    assert len(d.train) + len(d.val) + len(d.test) == 1797
    assert abs(float(d.train.x.mean())) < 1e-4 and abs(float(d.train.x.std()) - 1) < 0.05
    again = load_dataset("digits", resolution=32, seed=3)
    assert torch.equal(d.val.y, again.val.y)
    assert not torch.equal(d.val.y, load_dataset("digits", resolution=32, seed=4).val.y)


def test_distorted_digits_keep_each_digits_drawings_in_one_split():
    plain = load_dataset("digits", resolution=32, seed=3)
    hard = load_dataset("digits_distorted", resolution=32, seed=3)
    assert len(hard.train) + len(hard.val) + len(hard.test) == 4 * 1797 and hard.input_shape == (3, 32, 32)
    # the four drawings of every plain test digit, and only those, are the distorted test split
    assert torch.equal(hard.test.y, plain.test.y.repeat_interleave(4))
    assert torch.equal(hard.val.y, plain.val.y.repeat_interleave(4))
    drawings = hard.test.x[:4]
    assert all(not torch.allclose(drawings[0], d) for d in drawings[1:])
    assert torch.equal(hard.train.x, load_dataset("digits_distorted", resolution=32, seed=3).train.x)


def test_cifar10_python_format_from_a_local_directory(tmp_path):
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 255, (20, 3072), dtype=np.uint8), b"labels": list(rng.integers(0, 10, 20))}
        (tmp_path / name).write_bytes(pickle.dumps(batch))
    d = load_dataset("cifar10", path=tmp_path)
    assert len(d.train) + len(d.val) + len(d.test) == 120 and d.input_shape == (3, 32, 32)


def test_cifar10_refuses_a_pickle_that_builds_anything_else(tmp_path):
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (tmp_path / name).write_bytes(pickle.dumps({b"data": print, b"labels": []}))
    with pytest.raises(ValidationError, match="refusing to load `builtins.print`"):
        load_dataset("cifar10", path=tmp_path)


def test_image_folder_and_its_errors(tmp_path):
    from PIL import Image

    for cls in ("cat", "dog"):
        (tmp_path / cls).mkdir()
        for i in range(3):
            Image.new("RGB", (20, 20), (i * 40, 10, 200)).save(tmp_path / cls / f"{i}.png")
    d = load_dataset("folder", path=tmp_path, resolution=16)
    assert d.num_classes == 2 and d.input_shape == (3, 16, 16)
    (tmp_path / "dog" / "broken.png").write_bytes(b"not an image")
    with pytest.raises(ValidationError, match="broken.png"):
        load_dataset("folder", path=tmp_path)
    with pytest.raises(ValidationError, match="nothing is downloaded"):
        load_dataset("cifar10")
    with pytest.raises(ValidationError, match="expected a directory"):
        load_dataset("folder", path=tmp_path / "missing")
    with pytest.raises(ValidationError, match="unknown data set `imagenet`"):
        load_dataset("imagenet")


def test_a_large_image_folder_is_decoded_by_worker_processes_in_file_order(tmp_path, monkeypatch):
    from PIL import Image

    from codesign.accuracy import datasets

    for cls in ("cat", "dog"):
        (tmp_path / cls).mkdir()
        for i in range(6):
            Image.new("RGB", (20, 20), (i * 40, 10 if cls == "cat" else 90, 200)).save(tmp_path / cls / f"{i}.png")
    serial = load_dataset("folder", path=tmp_path, resolution=16)
    monkeypatch.setattr(datasets, "FOLDER_PARALLEL_FROM", 4)
    monkeypatch.setattr(datasets, "FOLDER_BATCH", 3)
    parallel = load_dataset("folder", path=tmp_path, resolution=16)
    assert torch.equal(serial.train.x, parallel.train.x) and torch.equal(serial.test.y, parallel.test.y)
    (tmp_path / "dog" / "3.png").write_bytes(b"truncated")
    with pytest.raises(ValidationError, match=r"dog/3\.png.*not a readable image"):
        load_dataset("folder", path=tmp_path)


def test_proxy_training_learns_and_is_deterministic(synthetic):
    arch = TINY_SPACE.sample(np.random.default_rng(0))
    cfg = TrainConfig(epochs=4, batch_size=32, seed=5)
    model, res = train(arch, synthetic, cfg)
    assert res.val_accuracy > 0.6 and res.images_seen == res.steps * 32 - (res.steps * 32 - res.images_seen)
    assert len(res.history) == 4 and res.seconds > 0
    _, again = train(arch, synthetic, cfg)
    assert again.history == res.history  # same seed, same numbers on CPU


def test_early_stopping_hook_for_successive_halving(synthetic):
    arch = TINY_SPACE.sample(np.random.default_rng(1))
    seen = []
    _, res = train(arch, synthetic, TrainConfig(epochs=5, batch_size=32),
                   on_epoch=lambda epoch, acc: seen.append(epoch) or epoch < 1)
    assert res.stopped_early and seen == [0, 1] and len(res.history) == 2


def test_a_paused_and_continued_training_ends_as_one_trained_straight(synthetic, tmp_path):
    """A multi-fidelity rung pauses after 2 of 5 epochs; continued from the saved pause (through the
    rung cache on disk, as a promoted candidate is), the run ends bit for bit where a straight one does."""
    from codesign.accuracy.rung_checkpoints import RungCheckpoints

    arch = TINY_SPACE.sample(np.random.default_rng(3))
    cfg = TrainConfig(epochs=5, batch_size=32, seed=2)
    straight, res = train(arch, synthetic, cfg)
    _, paused = train(arch, synthetic, cfg, stop_after_epochs=2)
    assert paused.checkpoint.epochs_done == 2 and paused.history == res.history[:2]
    cache = RungCheckpoints(tmp_path)
    cache.save("k" * 20, paused.checkpoint)
    assert cache.deepest_below("k" * 20, 2) is None
    model, cont = train(arch, synthetic, cfg, resume=cache.deepest_below("k" * 20, 5))
    assert cont.history == res.history and cont.steps == res.steps and cont.checkpoint is None
    assert all(torch.equal(a, b) for a, b in zip(straight.state_dict().values(), model.state_dict().values()))
    (tmp_path / f"{'b' * 20}-e1.pt").write_bytes(b"half a file")  # a killed writer's leftovers: a miss, no error
    assert cache.deepest_below("b" * 20, 5) is None


def test_the_rung_cache_keeps_to_its_size_by_evicting_the_oldest_pauses(synthetic, tmp_path):
    import os

    from codesign.accuracy.rung_checkpoints import RungCheckpoints

    arch = TINY_SPACE.sample(np.random.default_rng(4))
    _, paused = train(arch, synthetic, TrainConfig(epochs=3, batch_size=32), stop_after_epochs=1)
    one = RungCheckpoints(tmp_path / "probe")
    one.save("a" * 20, paused.checkpoint)
    size = (tmp_path / "probe" / f"{'a' * 20}-e1.pt").stat().st_size
    cache = RungCheckpoints(tmp_path / "cache", max_bytes=2 * size + 10)
    for i, key in enumerate(("a" * 20, "b" * 20, "c" * 20)):
        cache.save(key, paused.checkpoint)
        os.utime(tmp_path / "cache" / f"{key}-e1.pt", (1000 + i, 1000 + i))
    cache.save("d" * 20, paused.checkpoint)
    assert sorted(p.name[0] for p in (tmp_path / "cache").glob("*.pt")) == ["c", "d"]


def test_training_runs_on_the_thread_budget_it_is_given_and_restores_torchs(synthetic):
    arch = TINY_SPACE.sample(np.random.default_rng(2))
    before = torch.get_num_threads()
    during = []
    train(arch, synthetic, TrainConfig(epochs=1, batch_size=32, threads=1),
          on_epoch=lambda epoch, acc: during.append(torch.get_num_threads()) or True)
    assert during == [1] and torch.get_num_threads() == before
    from codesign.accuracy.threads import available_cores
    train(arch, synthetic, TrainConfig(epochs=1, batch_size=32),
          on_epoch=lambda epoch, acc: during.append(torch.get_num_threads()) or True)
    assert during[-1] == available_cores()                   # default: the cores this process may use
    assert SupernetTrainConfig.from_dict({"threads": 2}).threads == 2
    with pytest.raises(ValidationError, match="threads"):
        TrainConfig.from_dict({"threads": 0}, source="search.yaml")


def test_training_config_errors_name_the_field():
    with pytest.raises(ValidationError, match="optimizer"):
        TrainConfig.from_dict({"optimizer": "lion"}, source="train.yaml")
    with pytest.raises(ValidationError, match="unknown key `epoch`"):
        TrainConfig.from_dict({"epoch": 3})
    assert TrainConfig.from_dict({"augment": False}).augment is False
    with pytest.raises(ValidationError, match="`augment` must be true or false, got 'yes'"):
        TrainConfig.from_dict({"augment": "yes"})
    assert SupernetTrainConfig.from_dict({"distill": False, "augment": True}).distill is False
    with pytest.raises(ValidationError, match="`distill` must be true or false"):
        SupernetTrainConfig.from_dict({"distill": 1})


def test_supernet_subnet_equals_the_extracted_static_network():
    net = Supernet(TINY_SPACE)
    gen = torch.Generator().manual_seed(0)
    for m in net.modules():  # non-trivial BN statistics so slicing them is really checked
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
    net.eval()
    rng = np.random.default_rng(0)
    x = torch.randn(3, 3, 16, 16, generator=gen)
    for arch in [net.largest(), net.smallest()] + [TINY_SPACE.sample(rng) for _ in range(12)]:
        net.set_active_subnet(arch)
        static = net.get_active_subnet()
        assert static.arch == arch
        with torch.no_grad():
            assert torch.allclose(net(x), static(x), atol=1e-5), arch.key


def test_set_active_subnet_rejects_choices_outside_the_space():
    net = Supernet(TINY_SPACE)
    outside = ArchConfig.from_string(net.largest().key.replace("head_c32", "head_c48"))
    with pytest.raises(ValidationError, match="head.channels"):
        net.set_active_subnet(outside)


def test_supernet_trains_checkpoints_and_ranks_subnets(synthetic, tmp_path):
    net = Supernet(TINY_SPACE)
    res = train_supernet(net, synthetic, SupernetTrainConfig(steps=40, batch_size=32, random_subnets=1,
                                                              warmup_fraction=0.25))
    assert res.steps == 40 and res.subnet_passes == 10 * 1 + 30 * 3  # warm-up: largest only; then sandwich
    largest = subnet_accuracy(net, net.largest(), synthetic)
    assert largest > 0.5
    path = tmp_path / "supernet.pt"
    net.save(path)
    loaded = Supernet.load(path)
    assert subnet_accuracy(loaded, net.largest(), synthetic) == pytest.approx(largest)
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(ValidationError, match="not a codesign supernet checkpoint"):
        Supernet.load(tmp_path / "junk.pt")
    old = torch.load(path, weights_only=True)
    del old["format"]  # as written before unexpanded blocks had weights of their own
    torch.save(old, tmp_path / "old.pt")
    with pytest.raises(ValidationError, match="older codesign.*retrain"):
        Supernet.load(tmp_path / "old.pt")


def test_supernet_training_draws_fused_blocks_with_the_configured_probability():
    rng = np.random.default_rng(0)
    mixed = [0, 1]  # TINY_SPACE's stages offering both block types; the last one is ibn only

    def fused_share(p):
        archs = [sample_training_subnet(TINY_SPACE, rng, p) for _ in range(400)]
        for a in archs[:20]:
            TINY_SPACE.encode(a)  # still inside the space
        assert all(b.type == "ibn" for a in archs for b in a.stages[2])
        types = [b.type == "fused_ibn" for a in archs for i in mixed for b in a.stages[i]]
        return sum(types) / len(types)

    assert fused_share(1.0) == 1.0 and fused_share(0.0) == 0.0
    assert fused_share(0.75) == pytest.approx(0.75, abs=0.04)
    assert fused_share(0.5) == pytest.approx(0.5, abs=0.04)
    assert SupernetTrainConfig.from_dict({"fused_probability": 0.6}).fused_probability == 0.6
    with pytest.raises(ValidationError, match="fused_probability"):
        SupernetTrainConfig.from_dict({"fused_probability": 1.5})


def test_batch_norm_recalibration_uses_the_calibration_data(synthetic):
    net = Supernet(TINY_SPACE)
    net.set_active_subnet(net.largest())
    static = net.get_active_subnet()
    recalibrate_batch_norm(static, synthetic.train.x[:64])
    bn = static.stem[1]
    assert not torch.allclose(bn.running_var, torch.ones_like(bn.running_var))
    assert 0.0 <= accuracy(static, synthetic.val) <= 1.0
