"""NAS-Bench-201 networks (CIFAR-10 setting), built as its reference implementation executes them.

Architecture string: ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`` — the ops into cell nodes 1, 2, 3,
the number after ``~`` being the source node. Input 32×32×3; stem 3×3 conv to 16 channels + BN;
three stages of 5 identical cells at 16, 32, 64 channels with a residual reduction block between
stages; BN, ReLU, global average pool, linear layer to 10 classes.

Workload fidelity: node *j* is ``sum(op(node_i) for i < j)`` as in NAS-Bench-201's ``InferCell``,
so every node adds *j* tensors (Python's ``sum`` starts from 0) and a ``none`` edge still runs
``x.mul(0)``; ``nor_conv_k×k`` is ReLU → conv → BN (BN folded into the conv), ``avg_pool_3x3`` an
average pool (stride 1, padding 1), ``skip_connect`` nothing.
"""
from __future__ import annotations

import re

from ..errors import DecodeError, Problem
from ..layer import Layer
from ..workload.from_arch import LayerBuilder

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
STAGE_CHANNELS = (16, 32, 64)
CELLS_PER_STAGE = 5
RESOLUTION = 32
NUM_CLASSES = 10
_EDGE = re.compile(r"^([a-z_0-9]+)~(\d)$")


def parse(arch: str) -> tuple[tuple[tuple[str, int], ...], ...]:
    """The cell's edges per node (node 1, 2, 3), each ``(op, source node)``; errors name the token."""
    text = arch.strip() if isinstance(arch, str) else ""
    nodes = text.split("+")
    if len(nodes) != 3 or not all(n.startswith("|") and n.endswith("|") for n in nodes):
        raise DecodeError(Problem("NAS-Bench-201 string", f"expected `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`, "
                                  f"got `{text[:80]}`"))
    cell = []
    for j, node in enumerate(nodes, start=1):
        edges = [e for e in node.strip("|").split("|")]
        if len(edges) != j:
            raise DecodeError(Problem("NAS-Bench-201 string", f"node {j} needs {j} edges, got `{node}`"))
        parsed = []
        for i, edge in enumerate(edges):
            m = _EDGE.match(edge)
            if not m or m.group(1) not in OPS or int(m.group(2)) != i:
                raise DecodeError(Problem("NAS-Bench-201 string", f"edge `{edge}` into node {j}: expected "
                                          f"`<op>~{i}` with op one of {', '.join(OPS)}"))
            parsed.append((m.group(1), i))
        cell.append(tuple(parsed))
    return tuple(cell)


def _cell(bld: LayerBuilder, name: str, cell) -> None:
    ch, h, w, n = bld.ch, bld.h, bld.w, bld.n
    for j, edges in enumerate(cell, start=1):
        for op, i in edges:
            where = f"{name}.n{j}.e{i}"
            if op.startswith("nor_conv"):
                k = int(op[-1])
                bld.layers.append(Layer("elementwise", "relu", n, ch, ch, h, w, name=f"{where}.relu"))
                bld.conv(f"{where}.conv", ch, k, 1, 1, "none")
            elif op == "avg_pool_3x3":
                bld.pool(f"{where}.pool", "avg", 3, 1, 2)
            elif op == "none":
                bld.layers.append(Layer("elementwise", "mul", n, ch, ch, h, w, name=f"{where}.zero"))
        for t in range(len(edges)):  # sum() from 0: 0 + a, then + b, + c
            bld.elementwise(f"{name}.n{j}.add{t}", "add", operands=1 if t == 0 else 2)


def _reduction(bld: LayerBuilder, name: str, out_ch: int) -> None:
    n, ch, h, w = bld.n, bld.ch, bld.h, bld.w
    bld.layers.append(Layer("elementwise", "relu", n, ch, ch, h, w, name=f"{name}.a.relu"))
    bld.conv(f"{name}.a.conv", out_ch, 3, 2, 1, "relu")  # conv_b's leading ReLU fuses into conv_a
    bld.conv(f"{name}.b.conv", out_ch, 3, 1, 1, "none")
    side = LayerBuilder(n, ch, h)
    side.pool(f"{name}.down.pool", "avg", 2, 2, 0)
    side.conv(f"{name}.down.conv", out_ch, 1, 1, 1, "none", bias=0)  # a plain conv: no BN to fold
    bld.layers.extend(side.layers)
    bld.elementwise(f"{name}.add", "add")


def workload(arch: str, batch: int = 1) -> list[Layer]:
    """The layers a NAS-Bench-201 network executes for ``batch`` images, in order."""
    cell = parse(arch)
    bld = LayerBuilder(batch, 3, RESOLUTION)
    bld.conv("stem", STAGE_CHANNELS[0], 3, 1, 1, "none")
    for si, ch in enumerate(STAGE_CHANNELS):
        if si:
            _reduction(bld, f"reduce{si}", ch)
        for ci in range(CELLS_PER_STAGE):
            _cell(bld, f"s{si}.c{ci}", cell)
    bld.elementwise("lastact.bn", "batchnormalization", operands=1)
    bld.elementwise("lastact.relu", "relu", operands=1)
    bld.head(NUM_CLASSES)
    return bld.layers


def torch_module(arch: str):
    """The network as a torch module (random weights), for ONNX export and measurement."""
    from ._torch_nasbench201 import TinyNetwork
    return TinyNetwork(parse(arch))


def sample(rng) -> str:
    """A uniformly random cell string."""
    nodes = ["|" + "|".join(f"{OPS[int(rng.integers(len(OPS)))]}~{i}" for i in range(j)) + "|" for j in (1, 2, 3)]
    return "+".join(nodes)
