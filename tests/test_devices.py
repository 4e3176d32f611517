"""Where training runs: `device: auto | cpu | cuda[:N]` — CPU results unchanged, CUDA used when present,
and asking for CUDA where there is none refused before anything runs."""
import numpy as np
import pytest
import torch

from codesign.accuracy.datasets import load_dataset
from codesign.accuracy.training import TrainConfig, train
from codesign.cli.main import main
from codesign.errors import ValidationError
from codesign.search.config import SearchConfig
from codesign.spaces.arch_space import ArchSpace

CUDA = torch.cuda.is_available()


def _tiny():
    arch = ArchSpace.resolve("ibn_32_compact").sample(np.random.default_rng(1))
    return arch, load_dataset("synthetic", 32, 3, 0)


def test_auto_and_cpu_train_the_same_network_on_a_machine_without_cuda():
    if CUDA:
        pytest.skip("this machine has CUDA: auto trains there")
    arch, data = _tiny()
    a, ra = train(arch, data, TrainConfig(steps=4, device="auto"))
    b, rb = train(arch, data, TrainConfig(steps=4, device="cpu"))
    assert ra.val_accuracy == rb.val_accuracy and ra.device == "cpu float32"
    for (_, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(x, y)


@pytest.mark.skipif(CUDA, reason="this machine has CUDA")
def test_cuda_where_there_is_none_is_refused_naming_the_field(capsys):
    doc = SearchConfig.from_yaml("examples/smoke.yaml").to_dict()
    doc["accuracy"]["train"]["device"] = "cuda"
    with pytest.raises(ValidationError, match="no CUDA device.*accuracy.train:device"):
        SearchConfig.from_dict(doc, source="smoke")
    doc["accuracy"]["train"]["device"] = "gpu0"
    with pytest.raises(ValidationError, match="expected auto, cpu, cuda or cuda:<index>"):
        SearchConfig.from_dict(doc, source="smoke")
    assert main(["search", "examples/smoke.yaml", "--device", "cuda:1", "--check"]) != 0
    assert "--device" in capsys.readouterr().err


@pytest.mark.skipif(not CUDA, reason="needs a CUDA device")
def test_training_on_cuda_returns_cpu_weights_that_export():
    from codesign.workload.onnx_export import export_onnx

    arch, data = _tiny()
    model, res = train(arch, data, TrainConfig(steps=20, device="cuda"))
    assert res.device.startswith("cuda autocast") and next(model.parameters()).device.type == "cpu"
    export_onnx(model)


@pytest.mark.skipif(not CUDA, reason="needs a CUDA device")
def test_batches_on_cuda_are_the_cpu_batches_cut_on_the_device():
    """The training split lives on the GPU and batches are cut and augmented there, from the same
    CPU random stream: the same crops of the same images as on the CPU."""
    from codesign.accuracy.devices import stage_split
    from codesign.accuracy.training import batches

    _, data = _tiny()
    cfg = TrainConfig(batch_size=32, augment=True)
    on_gpu = stage_split(data.train, torch.device("cuda", 0))
    assert on_gpu.x.is_cuda
    cpu = batches(data.train, cfg, torch.Generator().manual_seed(3), 5)
    gpu = batches(on_gpu, cfg, torch.Generator().manual_seed(3), 5)
    for (_, _, xc, yc), (_, _, xg, yg) in zip(cpu, gpu):
        assert xg.is_cuda and torch.equal(xc, xg.cpu()) and torch.equal(yc, yg.cpu())


@pytest.mark.skipif(not CUDA, reason="needs a CUDA device")
def test_oneshot_and_differentiable_search_run_their_supernet_steps_on_cuda(tmp_path, smoke_run):
    from codesign.search.loop import run_search

    for name, extra in (("oneshot", {"steps": 6}), ("differentiable", {"steps": 4, "warmup_steps": 2,
                                                                       "lambdas": [[0.5, 0.5]]})):
        doc = SearchConfig.from_yaml("examples/smoke.yaml").to_dict()
        doc["accuracy"]["checkpoint"] = str(smoke_run / "supernet.pt")
        doc["accuracy"]["supernet"]["device"] = "cuda"
        doc["searcher"] = {"name": name, "batch": 2, "candidates": 2, **extra}
        doc["budget"] = {"trials": 2}
        doc["measure"] = {"runtime": "none"}
        state = run_search(SearchConfig.from_dict(doc), tmp_path / name, progress=False)
        assert len(state.records) == 2 and all(o.metrics is not None for o in state.records)


@pytest.mark.slow
def test_a_ray_run_trains_its_supernet_as_one_ray_task(tmp_path):
    pytest.importorskip("ray")
    from codesign.search.loop import run_search

    doc = SearchConfig.from_yaml("examples/smoke.yaml").to_dict()
    doc["accuracy"]["supernet"]["steps"] = 3
    doc["budget"] = {"trials": 4}
    doc["executor"] = {"kind": "ray", "workers": 2, "timeout_s": 300}
    doc["measure"] = {"runtime": "none"}
    study = run_search(SearchConfig.from_dict(doc, source="ray smoke"), tmp_path / "run", progress=False)
    assert (tmp_path / "run" / "supernet.pt").is_file()
    assert sum(r.state == "COMPLETE" for r in study.trials()) == 4
