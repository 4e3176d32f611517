"""TVM's default CPU schedules: every convolution scheduled, padding-only taps cropped, outputs unchanged."""
import numpy as np
import pytest
import torch

from codesign import ArchConfig
from codesign.workload.model_builder import build_model
from codesign.workload.onnx_export import export_onnx
from latency_predictors.ort_runtime import ort_session
from latency_predictors.tvm_runtime import compile_model, host_target, import_onnx, schedule_model
from latency_predictors.tvm_schedules import crop_padding_only_taps, unscheduled_kernels

# stride 2 and 1, kernels 3/5/7, depthwise and fused blocks, squeeze-excite, and 7x7 kernels on 2x2 and
# 1x1 feature maps (where most of their taps only ever meet padding)
NET = ArchConfig.from_string(
    "net_r16_i3_n10:stem_k3_c16_s2:ibn_k5_e3_c24_s2_se0.25:fused_ibn_k3_e3_c32_s2,ibn_k7_e6_c32_s1:"
    "ibn_k7_e3_c48_s2_se0.25,fused_ibn_k7_e1_c48_s1:head_c64")


def _trained_looking(arch: ArchConfig) -> torch.nn.Module:
    """The network with weights whose signal survives to the logits (fresh initialisations give nearly
    input-independent outputs, which would hide a wrong kernel) and non-trivial batch-norm statistics."""
    model = build_model(arch, seed=0)
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.Conv2d):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * (2 / fan_in) ** 0.5)
            elif isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1, generator=gen)
                m.running_var.uniform_(0.5, 1.5, generator=gen)
                m.weight.uniform_(0.5, 1.5, generator=gen)
                m.bias.uniform_(-0.1, 0.1, generator=gen)
            elif isinstance(m, torch.nn.Linear):
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * m.in_features ** -0.5)
                m.bias.zero_()
    return model.eval()


@pytest.fixture(scope="module")
def model():
    return export_onnx(_trained_looking(NET), input_shape=(1, 3, 16, 16))


def test_every_convolution_and_matmul_of_an_untuned_network_gets_a_schedule(model):
    left = unscheduled_kernels(schedule_model(model, host_target(1)))
    # what may stay naive: layout transposes and the squeeze-excite pooling, a few thousand elements each
    assert [k for k in left if "conv" in k or "matmul" in k or "dense" in k] == []
    assert all(any(op in k for op in ("transpose", "reshape", "mean")) for k in left)


def test_convolution_weights_are_repacked_at_compile_time_not_per_run(model):
    mod = schedule_model(model, host_target(1))
    names = [gvar.name_hint for gvar, _ in mod.functions_items()]
    assert any(n.endswith("_prepacked") for n in names)          # kernels read packed weights
    assert not any(n.endswith("_weight_prepack") for n in names)  # the packing ran on the constants


def test_scheduled_network_computes_what_onnxruntime_computes(model):
    import tvm
    from tvm import relax

    vm = relax.VirtualMachine(compile_model(model), tvm.cpu())
    session = ort_session(model)
    rng = np.random.default_rng(0)
    outputs = []
    for _ in range(2):
        x = rng.standard_normal((1, 3, 16, 16)).astype(np.float32)
        want = session.run(None, {session.get_inputs()[0].name: x})[0]
        got = vm["main"](tvm.runtime.tensor(x)).numpy()
        assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max()
        outputs.append(want)
    # the check means something only if the logits depend on the image
    assert np.abs(outputs[0] - outputs[1]).max() > 1e-2 * np.abs(outputs[0]).max()


def test_a_7x7_kernel_on_a_1x1_feature_map_is_cropped_to_its_centre_tap(model):
    from tvm import relax

    def kernel_sizes(mod):
        sizes = []

        def visit(expr):
            if isinstance(expr, relax.Call) and getattr(expr.op, "name", "") == "relax.nn.conv2d":
                shape = expr.args[1].ty.shape
                sizes.append((int(shape[2]), int(shape[3])))
        relax.analysis.post_order_visit(mod["main"], visit)
        return sizes

    before, after = kernel_sizes(import_onnx(model)), kernel_sizes(crop_padding_only_taps(import_onnx(model)))
    assert len(before) == len(after) and (7, 7) in before
    assert (1, 1) in [a for b, a in zip(before, after) if b == (7, 7)]   # the last stage runs at 1x1 pixels
    assert all(a[0] <= b[0] and a[1] <= b[1] for b, a in zip(before, after))


def test_tuning_first_measures_the_tile_choices_of_each_convolution(tmp_path):
    from tvm.s_tir import meta_schedule as ms

    from latency_predictors.tvm_runtime import _register_fast_build, measure_kernel_schedules, untuned_tasks

    tiny = export_onnx(ArchConfig.from_string("net_r8_i3_n10:stem_k3_c16_s1:ibn_k3_e3_c32_s2:head_c32"))
    target = host_target(1)
    tasks = untuned_tasks(tiny, target, tmp_path)
    convs = [t for t in tasks if "conv2d" in t.task_name]
    assert convs
    database = ms.database.JSONDatabase(work_dir=str(tmp_path))
    builder = ms.builder.LocalBuilder(f_build="codesign.ms_fast_build", initializer=_register_fast_build)
    measured = measure_kernel_schedules(convs, target, database, builder, ms.runner.LocalRunner(), per_task=2)
    assert measured >= len(convs)            # at least the default tile of every convolution
    for task in convs:                       # each with measured run times the database can rank
        records = database.get_top_k(database.commit_workload(task.dispatched[0]), 10)
        assert 1 <= len(records) <= 2 and all(float(t) > 0 for r in records for t in r.run_secs)
    left = {t.task_name for t in untuned_tasks(tiny, target, tmp_path)}
    assert left == {t.task_name for t in tasks} - {t.task_name for t in convs}
