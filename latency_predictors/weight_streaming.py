"""A unit's latency when its weights stream from DRAM, as they do inside a network larger than the
last-level cache.

Measured alone in a loop, a unit keeps its weights in cache; inside a network whose weights exceed
the last-level cache (32 MiB on the machine these numbers come from), each unit finds its weights
evicted by the others' and reads them from DRAM. To measure that case we run ``k`` copies of the
unit — same graph, each copy with its own weight tensors — back to back in one model, with ``k``
chosen so the copies' weights exceed the cache (``footprint_bytes``, by default twice the
last-level cache). Code and activations stay warm, as in the network; only the weights miss. The
per-copy time is the unit's *streamed* time.

Measured here: for units above 1 MiB of weights the streamed time is 1.5–3× the cached one, and
the block lookup table's error on networks above ~24 MiB of weights came from exactly this.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import onnx
from onnx import helper

from .ort_runtime import measure_ort

#: units with fewer weight bytes than this are not streamed (a few µs of DRAM traffic at most)
MIN_STREAMED_WEIGHT_BYTES = 256 * 1024
MAX_COPIES = 128


@lru_cache(maxsize=1)
def last_level_cache_bytes(default: int = 32 * 2**20) -> int:
    """Size of this CPU's largest cache (bytes), from sysfs; ``default`` where sysfs does not say."""
    sizes = []
    for f in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*/size"):
        try:
            text = f.read_text().strip().upper()
        except OSError:
            continue
        scale = {"K": 2**10, "M": 2**20, "G": 2**30}.get(text[-1:], 1)
        digits = text.rstrip("KMG")
        if digits.isdigit():
            sizes.append(int(digits) * scale)
    return max(sizes) if sizes else default


def weight_bytes(model: onnx.ModelProto) -> int:
    """Bytes of the model's initializers (float32 and other types alike)."""
    return int(sum(int(np.prod(t.dims, dtype=np.int64)) * _itemsize(t.data_type) for t in model.graph.initializer))


def _itemsize(data_type: int) -> int:
    return int(np.dtype(helper.tensor_dtype_to_np_dtype(data_type)).itemsize)


def weight_copies(model: onnx.ModelProto, k: int) -> onnx.ModelProto:
    """``k`` copies of a one-input model side by side: shared input, own weights, own outputs."""
    g = model.graph
    shared = g.input[0].name
    nodes, inits, outputs = [], [], []
    for i in range(k):
        def rename(name: str, i: int = i) -> str:
            return name if name in ("", shared) else f"copy{i}/{name}"

        for t in g.initializer:
            c = onnx.TensorProto()
            c.CopyFrom(t)
            c.name = rename(t.name)
            inits.append(c)
        for n in g.node:
            c = onnx.NodeProto()
            c.CopyFrom(n)
            c.name = rename(n.name)
            del c.input[:], c.output[:]
            c.input.extend(rename(x) for x in n.input)
            c.output.extend(rename(x) for x in n.output)
            nodes.append(c)
        for o in g.output:
            c = onnx.ValueInfoProto()
            c.CopyFrom(o)
            c.name = rename(o.name)
            outputs.append(c)
    out = helper.make_model(helper.make_graph(nodes, f"{g.name}_x{k}", [g.input[0]], outputs, inits),
                            opset_imports=model.opset_import)
    out.ir_version = model.ir_version
    return out


def streamed_time_ms(model: onnx.ModelProto, run_overhead: float, threads: int,
                     footprint_bytes: int | None = None) -> float | None:
    """The unit's own time (ms) with its weights read from DRAM, or ``None`` when its weights are
    too small to matter (under :data:`MIN_STREAMED_WEIGHT_BYTES`)."""
    w = weight_bytes(model)
    if w < MIN_STREAMED_WEIGHT_BYTES:
        return None
    footprint = footprint_bytes or 2 * last_level_cache_bytes()
    k = int(min(MAX_COPIES, max(2, -(-footprint // w))))
    m = measure_ort(weight_copies(model, k), threads=threads, warmup=3, repeats=10)
    return max((m.median_ms - run_overhead) / k, 1e-4)
