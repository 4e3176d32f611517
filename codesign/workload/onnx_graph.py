"""Any shape-inferred ONNX CNN → list of ``Layer`` s, at the granularity a runtime executes.

* ``Conv`` (dense, grouped, depthwise) and ``Gemm``/``MatMul`` with a constant weight become MAC
  layers; a following ``BatchNormalization`` and activation (``Relu``, ``Clip`` = ReLU6,
  ``HardSwish``, ``Sigmoid``, ``x·sigmoid(x)`` = swish, …) that only they consume are fused into them.
* Stand-alone arithmetic (``Add``, ``Mul``, activations, ``Softmax``…) → ``elementwise``.
* Pooling (``GlobalAveragePool``, ``MaxPool``, spatial ``ReduceMean``…) → ``pool``.
* Layout ops (``Reshape``, ``Transpose``, ``Flatten``, ``Concat``, ``Split``…) → ``data_movement``
  with zero MACs.
* ``Identity``, ``Dropout`` and anything computed only from constants and shapes (folded by every
  runtime) add no layer.

An operator outside these lists raises :class:`UnsupportedOpError` naming it and its node:
nothing is silently skipped or counted as zero.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from math import prod
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper

from ..errors import Problem, UnsupportedOpError, ValidationError
from ..layer import Layer
from .from_arch import conv_op_kind

_ACTIVATION_FN = {"Relu": "relu", "HardSwish": "hswish", "Sigmoid": "sigmoid", "HardSigmoid": "hsigmoid",
                  "Tanh": "tanh"}
_ELEMENTWISE = {"Add", "Sub", "Mul", "Div", "Relu", "Clip", "Sigmoid", "HardSwish", "HardSigmoid", "Tanh",
                "LeakyRelu", "PRelu", "Elu", "Selu", "Softplus", "Sqrt", "Pow", "Exp", "Log", "Erf", "Neg",
                "Abs", "Max", "Min", "Sum", "Mean", "Softmax", "LogSoftmax", "Gelu", "Mish", "Reciprocal",
                "BatchNormalization", "InstanceNormalization", "LayerNormalization", "Where", "Equal",
                "Less", "Greater", "Not", "And", "Or", "Floor", "Ceil", "Round", "Sign"}
_POOLS = {"GlobalAveragePool": "gavg", "GlobalMaxPool": "gmax", "AveragePool": "avg", "MaxPool": "max",
          "ReduceMean": "gavg", "ReduceMax": "gmax"}
_DATA_MOVEMENT = {"Reshape", "Flatten", "Transpose", "Concat", "Split", "Slice", "Squeeze", "Unsqueeze",
                  "Pad", "Expand", "Gather", "Tile", "Resize", "Upsample", "DepthToSpace", "SpaceToDepth",
                  "Cast", "Shape", "ConstantOfShape", "Range"}
_ALIASES = {"Identity", "Dropout"}


@dataclass
class _Graph:
    nodes: list[onnx.NodeProto]
    shapes: dict[str, tuple[int, ...]]
    consts: dict[str, np.ndarray]
    consumers: dict[str, list[onnx.NodeProto]]
    outputs: set[str]


def load_onnx(source: str | Path | onnx.ModelProto) -> onnx.ModelProto:
    """Load an ONNX file (or pass a ``ModelProto`` through); a broken file is a ``ValidationError``."""
    if isinstance(source, onnx.ModelProto):
        return source
    path = Path(source)
    if not path.is_file():
        raise ValidationError(Problem(str(path), "ONNX file not found"))
    try:
        model = onnx.load(str(path))
        _read_every_name(model.graph)
    except Exception as exc:  # noqa: BLE001 - protobuf raises many types for a corrupt file
        raise ValidationError(Problem(str(path), f"not a readable ONNX model ({type(exc).__name__}: {exc})")) from None
    return model


def _read_every_name(graph: onnx.GraphProto) -> None:
    """Check every name is text: protobuf hands back a name that is not valid UTF-8 as ``bytes``, which
    would fail later, far from the file, with a bare UnicodeDecodeError."""
    names = [n for node in graph.node for n in (node.name, node.op_type, node.domain, *node.input, *node.output)]
    names += [vi.name for vi in (*graph.input, *graph.output, *graph.value_info, *graph.initializer)]
    bad = [n for n in names if not isinstance(n, str)]
    if bad:
        raise ValueError(f"{len(bad)} names are not valid UTF-8 text, e.g. {bad[0]!r}")


def _attr(node: onnx.NodeProto, name: str, default: Any = None) -> Any:
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def _tensor(t: onnx.TensorProto, source: str, name: str | None = None) -> np.ndarray:
    """A constant's values; data that does not match its declared shape or type is an error naming it."""
    try:
        return numpy_helper.to_array(t)
    except Exception as exc:  # noqa: BLE001 - numpy/onnx raise ValueError, TypeError, KeyError…
        raise ValidationError(Problem(f"{source}:{name or t.name}", f"constant tensor `{name or t.name}` is corrupt: "
                                                                     f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")) from None


def _prepare(model: onnx.ModelProto, source: str, batch: int) -> _Graph:
    if not any(vi.name for vi in model.graph.value_info) and len(model.graph.node) > 1:
        try:
            model = onnx.shape_inference.infer_shapes(model)
        except Exception as exc:  # noqa: BLE001
            raise ValidationError(Problem(source, f"ONNX shape inference failed: {exc}")) from None
    consts: dict[str, np.ndarray] = {t.name: _tensor(t, source) for t in model.graph.initializer}
    shapes: dict[str, tuple[int, ...]] = {name: tuple(a.shape) for name, a in consts.items()}
    problems: list[Problem] = []
    for vi in [*model.graph.input, *model.graph.value_info, *model.graph.output]:
        if vi.name in shapes or not vi.type.HasField("tensor_type"):
            continue
        tt = vi.type.tensor_type
        if not tt.HasField("shape"):
            continue
        dims = []
        for i, d in enumerate(tt.shape.dim):
            if d.HasField("dim_value") and d.dim_value > 0:
                dims.append(d.dim_value)
            elif i == 0:  # a symbolic batch dimension: evaluate at the requested batch
                dims.append(batch)
            else:
                problems.append(Problem(f"{source}:{vi.name}", f"dimension {i} of tensor `{vi.name}` is symbolic "
                                                               f"(`{d.dim_param}`); a fixed size was expected"))
                break
        else:
            shapes[vi.name] = tuple(dims)
    if problems:
        raise ValidationError(problems, f"{source} has tensors without fixed shapes")
    for node in model.graph.node:  # constants the exporter wrote as nodes (Clip bounds, shapes)
        if node.op_type == "Constant" and _attr(node, "value") is not None:
            consts[node.output[0]] = _tensor(_attr(node, "value"), source, node.name or node.output[0])
        elif node.op_type == "Identity" and node.input[0] in consts:
            consts[node.output[0]] = consts[node.input[0]]
    consumers: dict[str, list[onnx.NodeProto]] = defaultdict(list)
    for node in model.graph.node:
        for i in node.input:
            if i:
                consumers[i].append(node)
    return _Graph(list(model.graph.node), shapes, consts, consumers, {o.name for o in model.graph.output})


def _nkpq(shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """Map a tensor shape onto N, K (channels), P, Q."""
    if len(shape) <= 1:
        return 1, int(prod(shape)) if shape else 1, 1, 1
    if len(shape) == 2:
        return shape[0], shape[1], 1, 1
    if len(shape) == 3:
        return shape[0], shape[1], shape[2], 1
    return shape[0], shape[1], shape[2], int(prod(shape[3:]))


class _Extractor:
    def __init__(self, g: _Graph, source: str):
        self.g = g
        self.source = source
        self.static = set(g.consts)  # tensors known at compile time (constants and shape arithmetic)
        self.fused: set[int] = set()  # ids of nodes absorbed into a previous layer
        self.layers: list[Layer] = []

    # ---- helpers ---------------------------------------------------------------------
    def shape(self, tensor: str, node: onnx.NodeProto) -> tuple[int, ...]:
        if tensor not in self.g.shapes:
            raise ValidationError(Problem(f"{self.source}:{node.name or node.op_type}",
                                          f"tensor `{tensor}` of {node.op_type} node `{node.name}` has no inferred "
                                          "shape; export with shapes or run onnx.shape_inference.infer_shapes"))
        return self.g.shapes[tensor]

    def sole_consumer(self, tensor: str) -> onnx.NodeProto | None:
        users = self.g.consumers.get(tensor, [])
        if len(users) == 1 and tensor not in self.g.outputs:
            return users[0]
        return None

    def _const_scalar(self, tensor: str) -> float | None:
        arr = self.g.consts.get(tensor)
        return float(arr.reshape(-1)[0]) if arr is not None and arr.size == 1 else None

    def activation_of(self, node: onnx.NodeProto) -> str | None:
        """The fused-activation name of a unary activation node (Clip only as ReLU/ReLU6)."""
        if node.op_type in _ACTIVATION_FN:
            return _ACTIVATION_FN[node.op_type]
        if node.op_type == "Clip":
            lo = self._const_scalar(node.input[1]) if len(node.input) > 1 and node.input[1] else _attr(node, "min")
            hi = self._const_scalar(node.input[2]) if len(node.input) > 2 and node.input[2] else _attr(node, "max")
            if lo == 0.0 and hi == 6.0:
                return "relu6"
            if lo == 0.0 and hi is None:
                return "relu"
        return None

    def fuse_epilogue(self, out: str) -> tuple[str, str]:
        """Absorb BatchNormalization and one activation after a MAC layer: returns (fn, final tensor)."""
        nxt = self.sole_consumer(out)
        if nxt is not None and nxt.op_type == "BatchNormalization" and nxt.input[0] == out:
            self.fused.add(id(nxt))
            out = nxt.output[0]
            nxt = self.sole_consumer(out)
        if nxt is not None and nxt.input[0] == out:
            fn = self.activation_of(nxt)
            if fn is not None:
                self.fused.add(id(nxt))
                return fn, nxt.output[0]
        users = self.g.consumers.get(out, [])
        if len(users) == 2 and out not in self.g.outputs:  # swish: Mul(x, Sigmoid(x))
            sig = next((u for u in users if u.op_type == "Sigmoid"), None)
            mul = next((u for u in users if u.op_type == "Mul"), None)
            if sig is not None and mul is not None and set(mul.input) == {out, sig.output[0]} \
                    and self.sole_consumer(sig.output[0]) is mul:
                self.fused.update({id(sig), id(mul)})
                return "swish", mul.output[0]
        return "none", out

    # ---- per-op handlers -------------------------------------------------------------
    def conv(self, node: onnx.NodeProto) -> None:
        x = self.shape(node.input[0], node)
        w = self.shape(node.input[1], node)
        y = self.shape(node.output[0], node)
        if len(x) != 4:
            raise UnsupportedOpError(f"Conv node `{node.name}` in {self.source}: only 2-D convolutions "
                                     f"(rank-4 input) are supported, got input shape {x}")
        n, c, h, wd = x
        _, k, p, q = y
        r, s = w[2], w[3]
        sh, sw = (_attr(node, "strides") or [1, 1])[:2]
        dh, dw = (_attr(node, "dilations") or [1, 1])[:2]
        groups = int(_attr(node, "group", 1))
        bias = int(len(node.input) > 2 and bool(node.input[2]))
        fn, _ = self.fuse_epilogue(node.output[0])
        op = conv_op_kind(c, k, r, s, groups)
        self.layers.append(Layer(op, fn, n, k, c, p, q, r, s, sh, sw, h, wd, dh, dw, groups, bias,
                                 name=node.name or node.output[0]))

    def fc(self, node: onnx.NodeProto) -> None:
        a = self.shape(node.input[0], node)
        b_name = node.input[1]
        if b_name not in self.static:
            raise UnsupportedOpError(f"{node.op_type} node `{node.name}` in {self.source} multiplies two "
                                     "activations; only a constant weight (fully connected layer) is supported")
        b = self.shape(b_name, node)
        y = self.shape(node.output[0], node)
        if node.op_type == "Gemm":
            c = a[0] if _attr(node, "transA", 0) else a[-1]
            bias = int(len(node.input) > 2 and bool(node.input[2]))
        else:
            c = b[-2] if len(b) >= 2 else b[0]
            bias = 0
        k = y[-1]
        n = int(prod(y[:-1])) if len(y) > 1 else 1
        fn, _ = self.fuse_epilogue(node.output[0])
        self.layers.append(Layer("fc", fn, n, k, c, 1, 1, bias=bias, name=node.name or node.output[0]))

    def pool(self, node: onnx.NodeProto) -> None:
        x = self.shape(node.input[0], node)
        y = self.shape(node.output[0], node)
        n, c, *_ = _nkpq(x)
        if node.op_type.startswith("Reduce"):
            axes = _attr(node, "axes")
            if axes is None and len(node.input) > 1 and node.input[1] in self.g.consts:
                axes = self.g.consts[node.input[1]].tolist()
            rank = len(x)
            if rank != 4 or sorted(a % rank for a in (axes or [])) != [2, 3]:
                raise UnsupportedOpError(f"{node.op_type} node `{node.name}` in {self.source}: only a reduction "
                                         f"over the two spatial axes of a rank-4 tensor is supported, got axes "
                                         f"{axes} on shape {x}")
        if node.op_type.startswith(("Global", "Reduce")):
            r, s, p, q, sh, sw = x[2], x[3], 1, 1, 1, 1
        else:
            r, s = _attr(node, "kernel_shape")[:2]
            sh, sw = (_attr(node, "strides") or [1, 1])[:2]
            _, _, p, q = _nkpq(y)
        self.layers.append(Layer("pool", _POOLS[node.op_type], n, c, c, p, q, r, s, sh, sw, x[2], x[3],
                                 name=node.name or node.output[0]))

    def simple(self, node: onnx.NodeProto, op: str) -> None:
        y = self.shape(node.output[0], node)
        n, k, p, q = _nkpq(y)
        operands = max(1, sum(1 for i in node.input if i and i not in self.static))
        fn = self.activation_of(node) if op == "elementwise" else None
        fn = fn or node.op_type.lower()
        self.layers.append(Layer(op, fn, n, k, k, p, q, operands=operands, name=node.name or node.output[0]))

    # ---- walk ------------------------------------------------------------------------
    def run(self) -> list[Layer]:
        for node in self.g.nodes:
            op = node.op_type
            if id(node) in self.fused:
                continue
            if op in ("Constant", "Shape") or all(i in self.static for i in node.input if i):
                self.static.update(o for o in node.output if o)  # folded at compile time by any runtime
                continue
            if op in _ALIASES:
                if node.input[0] in self.g.shapes:
                    self.g.shapes.setdefault(node.output[0], self.g.shapes[node.input[0]])
                self._forward_alias(node)
                continue
            if op == "Conv":
                self.conv(node)
            elif op in ("Gemm", "MatMul"):
                self.fc(node)
            elif op in _POOLS:
                self.pool(node)
            elif op in _ELEMENTWISE:
                self.simple(node, "elementwise")
            elif op in _DATA_MOVEMENT:
                self.simple(node, "data_movement")
            else:
                raise UnsupportedOpError(f"unsupported ONNX operator `{op}` (node `{node.name or node.output[0]}`) "
                                         f"in {self.source}; supported: Conv, Gemm, MatMul, "
                                         f"{', '.join(sorted(_POOLS))}, {', '.join(sorted(_ELEMENTWISE))}, "
                                         f"{', '.join(sorted(_DATA_MOVEMENT))}")
        return self.layers

    def _forward_alias(self, node: onnx.NodeProto) -> None:
        """Let the consumers of an Identity/Dropout output see its input instead."""
        src, dst = node.input[0], node.output[0]
        for user in self.g.consumers.pop(dst, []):
            for i, name in enumerate(user.input):
                if name == dst:
                    user.input[i] = src
            self.g.consumers[src].append(user)
        self.g.consumers[src] = [u for u in self.g.consumers[src] if u is not node]
        if dst in self.g.outputs:
            self.g.outputs.add(src)


def workload_from_onnx(source: str | Path | onnx.ModelProto, batch: int = 1) -> list[Layer]:
    """Extract the layers of an ONNX model (a file path or a ``ModelProto``).

    A symbolic batch dimension is evaluated at ``batch``; any other symbolic dimension, a tensor
    without an inferred shape or an unknown operator is an error naming the tensor or node.
    """
    name = str(source) if not isinstance(source, onnx.ModelProto) else "ONNX model"
    model = load_onnx(source)
    model_copy = onnx.ModelProto()
    model_copy.CopyFrom(model)  # alias forwarding rewrites node inputs: never touch the caller's model
    return _Extractor(_prepare(model_copy, name, batch), name).run()
