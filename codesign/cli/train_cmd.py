"""``codesign train`` (stand-alone proxy training) and ``codesign supernet train|eval``."""
from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from ..checks import Checker
from ..yaml_io import load_yaml
from ..errors import Problem, ValidationError
from ..arch import ArchConfig
from ..spaces.arch_space import ArchSpace


def register(sub: argparse._SubParsersAction) -> None:
    t = sub.add_parser("train", help="proxy-train a stand-alone network and report its accuracy")
    t.add_argument("arch", metavar="ARCH_STRING")
    _data_args(t)
    t.add_argument("--epochs", type=int, default=10)
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--threads", type=int, help="torch threads (default: the cores this process may use)")
    t.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N (default auto: CUDA when present)")
    t.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    t.set_defaults(func=train_standalone)

    s = sub.add_parser("supernet", help="train or evaluate the weight-sharing supernet")
    ssub = s.add_subparsers(dest="supernet_cmd", required=True)
    st = ssub.add_parser("train", help="train a supernet from a YAML config (space, data, train)")
    st.add_argument("config", metavar="CONFIG")
    st.add_argument("--out", default="supernet.pt", help="checkpoint path (default supernet.pt)")
    st.add_argument("--threads", type=int, help="torch threads (overrides train.threads; default: available cores)")
    st.add_argument("--device", help="auto | cpu | cuda | cuda:N (overrides train.device; default auto)")
    st.set_defaults(func=train_supernet_cmd)
    se = ssub.add_parser("eval", help="accuracy of one subnet after batch-norm recalibration")
    se.add_argument("checkpoint")
    se.add_argument("arch", metavar="ARCH_STRING")
    _data_args(se)
    se.add_argument("--split", choices=["val", "test"], default="val")
    se.add_argument("--json", action="store_true")
    se.set_defaults(func=eval_supernet_cmd)


def _threads(value: int | None) -> int | None:
    if value is not None and not 1 <= value <= 1024:
        raise ValidationError(Problem("--threads", f"must be between 1 and 1024, got {value}"))
    return value


def device_arg(value: str | None) -> str | None:
    from ..accuracy.devices import device_option  # loads torch

    return device_option(value)


def _data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", default="digits", help="digits | digits_distorted | cifar10 | folder | synthetic (default digits)")
    p.add_argument("--data-path", default=None, help="directory for cifar10 / folder")
    p.add_argument("--data-seed", type=int, default=0, help="seed of the train/val/test split")


def _load_data(args: argparse.Namespace, resolution: int, channels: int):
    from ..accuracy.datasets import load_dataset

    return load_dataset(args.data, resolution=resolution, channels=channels, seed=args.data_seed, path=args.data_path)


def train_standalone(args: argparse.Namespace) -> int:
    from ..accuracy.training import TrainConfig, accuracy, train

    arch = ArchConfig.from_string(args.arch)
    data = _load_data(args, arch.resolution, arch.in_channels)
    cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, seed=args.seed, threads=_threads(args.threads),
                      device=device_arg(args.device))
    model, res = train(arch, data, cfg, progress=True)
    test = accuracy(model, data.test)
    print(f"val accuracy {res.val_accuracy:.4f}, test accuracy {test:.4f}, {res.seconds:.1f} s, "
          f"{res.images_seen:,} images ({res.device})")
    if args.json:
        print(json.dumps({"val_accuracy": res.val_accuracy, "test_accuracy": test, "seconds": res.seconds,
                          "images_seen": res.images_seen, "history": res.history}))
    return 0


def train_supernet_cmd(args: argparse.Namespace) -> int:
    from ..accuracy.datasets import load_dataset
    from ..accuracy.supernet import Supernet
    from ..accuracy.supernet_training import SupernetTrainConfig, train_supernet

    data_cfg = load_yaml(args.config)
    chk = Checker(args.config)
    m = chk.mapping(data_cfg, "", optional=("space", "data", "data_path", "data_seed", "train"))
    chk.raise_if_any("invalid supernet config")
    space = ArchSpace.resolve(m.get("space", "ibn_32_compact"))
    cfg = SupernetTrainConfig.from_dict(m.get("train", {}), source=f"{args.config}:train")
    if args.threads is not None:
        cfg = replace(cfg, threads=_threads(args.threads))
    if args.device is not None:
        cfg = replace(cfg, device=device_arg(args.device))
    data = load_dataset(m.get("data", "digits"), resolution=space.resolution, channels=space.in_channels,
                        seed=int(m.get("data_seed", 0)), path=m.get("data_path"))
    net = Supernet(space, seed=cfg.seed)
    res = train_supernet(net, data, cfg, progress=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    net.save(args.out, extra={"train": cfg.as_train_config().to_dict(), "data": m.get("data", "digits")})
    print(f"trained {res.steps} steps ({res.subnet_passes} subnet passes) in {res.seconds:.1f} s; saved {args.out}")
    return 0


def eval_supernet_cmd(args: argparse.Namespace) -> int:
    from ..accuracy.supernet import Supernet
    from ..accuracy.supernet_training import subnet_accuracy

    net = Supernet.load(args.checkpoint)
    arch = ArchConfig.from_string(args.arch)
    data = _load_data(args, net.space.resolution, net.space.in_channels)
    acc = subnet_accuracy(net, arch, data, split=args.split)
    print(f"{args.split} accuracy {acc:.4f} (supernet weights, batch norm recalibrated)")
    if args.json:
        print(json.dumps({"accuracy": acc, "split": args.split}))
    return 0
