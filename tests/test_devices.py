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
