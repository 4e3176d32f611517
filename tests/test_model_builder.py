import numpy as np
import torch
from torch import nn

from codesign import ArchConfig, arch_workload
from codesign.layer import workload_totals
from codesign.workload.model_builder import build_model, count_params
from codesign.spaces import ArchSpace


def measured_macs(model: nn.Module, arch: ArchConfig) -> int:
    """MACs counted from the module itself with forward hooks on every Conv2d and Linear."""
    total = 0

    def hook(mod, inputs, out):
        nonlocal total
        if isinstance(mod, nn.Conv2d):
            total += out.numel() * (mod.in_channels // mod.groups) * mod.kernel_size[0] * mod.kernel_size[1]
        else:
            total += out.numel() * mod.in_features

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model.eval()(torch.zeros(1, arch.in_channels, arch.resolution, arch.resolution))
    for h in handles:
        h.remove()
    return total


def test_params_and_macs_from_the_config_equal_the_built_module():
    space = ArchSpace.default()
    rng = np.random.default_rng(0)
    for _ in range(25):
        arch = space.sample(rng)
        model = build_model(arch)
        assert count_params(arch) == sum(p.numel() for p in model.parameters()), arch.key
        assert workload_totals(arch_workload(arch))["macs"] == measured_macs(model, arch), arch.key


def test_output_shape_residuals_and_seeded_weights():
    arch = ArchConfig.from_string("net_r32_i1_n7:stem_k3_c8_s2:ibn_k3_e1_c8_s1:fused_ibn_k5_e3_c16_s2_se0.25_swish,"
                                  "fused_ibn_k3_e1_c16_s1_hswish:head_c32_relu6")
    model, same, other = build_model(arch, seed=3), build_model(arch, seed=3), build_model(arch, seed=4)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), same.state_dict().values()))
    assert not torch.equal(model.stem[0].weight, other.stem[0].weight)
    assert model(torch.zeros(2, 1, 32, 32)).shape == (2, 7)
    assert [b.residual for b in model.blocks] == [True, False, True]
