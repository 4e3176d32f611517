"""A one-layer ONNX model per workload ``Layer``, as the runtime executes it (conv + bias + activation
fused), so that a lookup table can time every distinct layer once."""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from codesign.errors import UnsupportedOpError
from codesign.layer import MAC_OPS, Layer

OPSET = 17


def _act_nodes(fn: str, x: str, out: str, prefix: str) -> tuple[list[onnx.NodeProto], list[onnx.TensorProto]]:
    if fn == "none":
        return [helper.make_node("Identity", [x], [out])], []
    if fn == "relu":
        return [helper.make_node("Relu", [x], [out])], []
    if fn == "relu6":
        lo, hi = numpy_helper.from_array(np.float32(0), f"{prefix}lo"), numpy_helper.from_array(np.float32(6), f"{prefix}hi")
        return [helper.make_node("Clip", [x, lo.name, hi.name], [out])], [lo, hi]
    if fn == "hswish":
        return [helper.make_node("HardSwish", [x], [out])], []
    if fn in ("sigmoid", "hsigmoid", "tanh"):
        return [helper.make_node({"sigmoid": "Sigmoid", "hsigmoid": "HardSigmoid", "tanh": "Tanh"}[fn], [x], [out])], []
    if fn == "swish":
        return [helper.make_node("Sigmoid", [x], [f"{prefix}sig"]), helper.make_node("Mul", [x, f"{prefix}sig"], [out])], []
    raise UnsupportedOpError(f"no ONNX form for fused activation `{fn}`")


def layer_model(layer: Layer, seed: int = 0) -> onnx.ModelProto:
    """A shape-complete single-layer ONNX model of ``layer`` (random weights)."""
    rng = np.random.default_rng(seed)
    n, nodes, inits = layer.n, [], []
    if layer.op in MAC_OPS and layer.op != "fc":
        x_shape = [n, layer.c, layer.h_in, layer.w_in]
        w = numpy_helper.from_array(rng.standard_normal((layer.k, layer.c // layer.groups, layer.r, layer.s))
                                    .astype(np.float32) * 0.1, "w")
        b = numpy_helper.from_array(np.zeros(layer.k, np.float32), "b")
        inits += [w, b]
        ph, pw = layer.pad_h, layer.pad_w
        nodes.append(helper.make_node("Conv", ["x", "w", "b"], ["conv"], kernel_shape=[layer.r, layer.s],
                                      strides=[layer.stride_h, layer.stride_w], group=layer.groups,
                                      dilations=[layer.dilation_h, layer.dilation_w],
                                      pads=[ph // 2, pw // 2, ph - ph // 2, pw - pw // 2]))
        act, act_inits = _act_nodes(layer.fn, "conv", "y", "a_")
        y_shape = [n, layer.k, layer.p, layer.q]
    elif layer.op == "fc":
        x_shape = [n, layer.c]
        inits += [numpy_helper.from_array(rng.standard_normal((layer.k, layer.c)).astype(np.float32) * 0.1, "w"),
                  numpy_helper.from_array(np.zeros(layer.k, np.float32), "b")]
        nodes.append(helper.make_node("Gemm", ["x", "w", "b"], ["fc"], transB=1))
        act, act_inits = _act_nodes(layer.fn, "fc", "y", "a_")
        y_shape = [n, layer.k]
    elif layer.op == "elementwise":
        x_shape = y_shape = [n, layer.k, layer.p, layer.q]
        if layer.fn in ("add", "mul", "sub", "div"):
            op = layer.fn.capitalize()
            inputs = ["x", "x2" if layer.operands > 1 else "x"]
            act, act_inits = [helper.make_node(op, inputs, ["y"])], []
        else:
            act, act_inits = _act_nodes(layer.fn if layer.fn != "clip" else "relu6", "x", "y", "a_")
    elif layer.op == "pool":
        x_shape = [n, layer.c, layer.h_in, layer.w_in]
        y_shape = [n, layer.k, layer.p, layer.q]
        if layer.fn in ("gavg", "gmax"):
            act = [helper.make_node("GlobalAveragePool" if layer.fn == "gavg" else "GlobalMaxPool", ["x"], ["y"])]
        else:
            ph, pw = layer.pad_h, layer.pad_w
            act = [helper.make_node("AveragePool" if layer.fn == "avg" else "MaxPool", ["x"], ["y"],
                                    kernel_shape=[layer.r, layer.s], strides=[layer.stride_h, layer.stride_w],
                                    pads=[ph // 2, pw // 2, ph - ph // 2, pw - pw // 2])]
        act_inits = []
    elif layer.op == "data_movement":
        x_shape = [n, layer.c, layer.h_in, layer.w_in]
        if layer.fn == "flatten":
            act, y_shape = [helper.make_node("Flatten", ["x"], ["y"], axis=1)], [n, layer.c * layer.h_in * layer.w_in]
        else:  # any other layout op: a transpose moves every element, like a shuffle
            act, y_shape = [helper.make_node("Transpose", ["x"], ["y"], perm=[0, 1, 3, 2])], \
                [n, layer.c, layer.w_in, layer.h_in]
        act_inits = []
    else:
        raise UnsupportedOpError(f"no single-layer model for op `{layer.op}`")
    nodes += act
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)]
    if layer.op == "elementwise" and layer.operands > 1 and layer.fn in ("add", "mul", "sub", "div"):
        inputs.append(helper.make_tensor_value_info("x2", TensorProto.FLOAT, x_shape))
    graph = helper.make_graph(nodes, layer.op, inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape)],
                              inits + act_inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    return model


def empty_model() -> onnx.ModelProto:
    """An Identity on one float: what a runtime call costs when it computes nothing."""
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "empty",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    return model
