import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper

from codesign import ArchConfig, UnsupportedOpError, ValidationError, arch_workload
from codesign.workload.model_builder import build_model
from codesign.workload.onnx_export import export_onnx, onnx_max_abs_diff
from codesign.workload.onnx_graph import workload_from_onnx
from codesign.spaces import ArchSpace


def randomize_batch_norm(model: torch.nn.Module, gen: torch.Generator) -> None:
    """Non-trivial running statistics so that folding batch norm into the convs is really exercised."""
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=gen) + 0.5)


def test_arch_and_onnx_routes_agree_layer_by_layer_on_30_random_networks():
    space = ArchSpace.default()
    rng = np.random.default_rng(2026)
    for _ in range(30):
        arch = space.sample(rng)
        from_arch = [l.key for l in arch_workload(arch)]
        from_onnx = [l.key for l in workload_from_onnx(export_onnx(arch))]
        assert from_onnx == from_arch, arch.key


def test_every_activation_and_block_type_survives_both_routes():
    arch = ArchConfig.from_string(
        "net_r24_i3_n5:stem_k3_c8_s1_swish:ibn_k3_e1_c8_s1_relu6:ibn_k5_e6_c16_s2_se0.25_swish,"
        "fused_ibn_k3_e3_c16_s1_se0.5_hswish,fused_ibn_k7_e1_c24_s2_se0.25:head_c64_hswish")
    assert [l.key for l in workload_from_onnx(export_onnx(arch))] == [l.key for l in arch_workload(arch)]


def test_onnx_output_matches_torch_for_random_networks(tmp_path):
    space = ArchSpace.default()
    rng = np.random.default_rng(11)
    gen = torch.Generator().manual_seed(0)
    for i in range(8):
        arch = space.sample(rng)
        model = build_model(arch, seed=i)
        randomize_batch_norm(model, gen)
        path = tmp_path / f"m{i}.onnx"
        proto = export_onnx(model, path, batch=2)
        assert proto.opset_import[0].version >= 17
        assert path.stat().st_size > 0 and not list(tmp_path.glob("*.data"))  # one self-contained file
        x = torch.randn(2, 3, 32, 32, generator=gen)
        assert onnx_max_abs_diff(model, onnx.load(str(path)), x) <= 1e-4, arch.key


def test_workload_of_a_saved_file_and_batch_dimension(tmp_path):
    arch = ArchSpace.default().sample(np.random.default_rng(5))
    path = tmp_path / "net.onnx"
    export_onnx(arch, path, batch=4)
    layers = workload_from_onnx(path)
    assert all(l.n == 4 for l in layers)
    assert sum(l.macs for l in layers) == 4 * sum(l.macs for l in arch_workload(arch))


# ---- graphs not written by our exporter --------------------------------------------------
def _tensor(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def _init(name, *shape):
    return helper.make_tensor(name, TensorProto.FLOAT, shape, np.random.rand(*shape).astype(np.float32).ravel())


def shufflenet_like_model(batch_dim=1):
    """Grouped conv, unfused batch norm, max pool, channel shuffle (Reshape/Transpose), concat, global pool."""
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                         name="stem"),
        helper.make_node("BatchNormalization", ["c1", "g", "b", "m", "v"], ["bn1"], name="stem_bn"),
        helper.make_node("Relu", ["bn1"], ["r1"], name="stem_relu"),
        helper.make_node("MaxPool", ["r1"], ["mp"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                         name="pool"),
        helper.make_node("Conv", ["mp", "w2"], ["c2"], kernel_shape=[1, 1], group=4, name="gconv"),
        helper.make_node("Reshape", ["c2", "shape5"], ["rs"], name="shuffle_reshape"),
        helper.make_node("Transpose", ["rs"], ["tr"], perm=[0, 2, 1, 3, 4], name="shuffle_transpose"),
        helper.make_node("Reshape", ["tr", "shape4"], ["sh"], name="shuffle_back"),
        helper.make_node("Conv", ["sh", "w3"], ["c3"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=16,
                         name="dw"),
        helper.make_node("Concat", ["c3", "mp"], ["cat"], axis=1, name="concat"),
        helper.make_node("GlobalAveragePool", ["cat"], ["gap"], name="gap"),
        helper.make_node("Flatten", ["gap"], ["flat"], name="flatten"),
        helper.make_node("Gemm", ["flat", "wfc", "bfc"], ["y"], transB=1, name="fc"),
    ]
    inits = [_init("w1", 16, 3, 3, 3), _init("g", 16), _init("b", 16), _init("m", 16), _init("v", 16),
             _init("w2", 16, 4, 1, 1), _init("w3", 16, 1, 3, 3), _init("wfc", 10, 32), _init("bfc", 10),
             helper.make_tensor("shape5", TensorProto.INT64, [5], [batch_dim, 4, 4, 8, 8]),
             helper.make_tensor("shape4", TensorProto.INT64, [4], [batch_dim, 16, 8, 8])]
    graph = helper.make_graph(nodes, "shufflenet_like", [_tensor("x", [batch_dim, 3, 32, 32])],
                              [_tensor("y", [batch_dim, 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    return onnx.shape_inference.infer_shapes(model)


def test_a_foreign_cnn_with_channel_shuffle_is_extracted():
    layers = {l.name: l for l in workload_from_onnx(shufflenet_like_model())}
    assert set(layers) == {"stem", "pool", "gconv", "shuffle_reshape", "shuffle_transpose", "shuffle_back", "dw",
                           "concat", "gap", "flatten", "fc"}
    assert layers["stem"].fn == "relu" and layers["stem"].op == "conv" and layers["stem"].p == 16
    assert layers["gconv"].op == "conv" and layers["gconv"].groups == 4 and layers["gconv"].macs == 16 * 4 * 64
    assert layers["dw"].op == "depthwise"
    for name in ("shuffle_reshape", "shuffle_transpose", "shuffle_back", "concat", "flatten"):
        assert layers[name].op == "data_movement" and layers[name].macs == 0
    assert layers["pool"].op == "pool" and (layers["pool"].p, layers["pool"].r) == (8, 3)
    assert layers["fc"].op == "fc" and (layers["fc"].c, layers["fc"].k) == (32, 10)


def test_an_unknown_op_is_an_error_naming_op_and_node():
    model = shufflenet_like_model()
    model.graph.node[2].op_type = "FancyAct"
    model.graph.node[2].domain = "com.example"
    with pytest.raises(UnsupportedOpError, match="`FancyAct` \\(node `stem_relu`\\)"):
        workload_from_onnx(model)


def test_symbolic_non_batch_dimensions_and_broken_files_are_clear_errors(tmp_path):
    model = shufflenet_like_model()
    model.graph.input[0].type.tensor_type.shape.dim[2].dim_param = "height"
    with pytest.raises(ValidationError, match="symbolic"):
        workload_from_onnx(model)
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"\x08\x07garbage" * 10)
    with pytest.raises(ValidationError, match="broken.onnx"):
        workload_from_onnx(broken)
    with pytest.raises(ValidationError, match="not found"):
        workload_from_onnx(tmp_path / "missing.onnx")
