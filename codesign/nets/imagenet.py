"""Published ImageNet classification networks, built layer by layer from their published definitions.

Architecture strings (the names the papers and model zoos use)::

    mobilenet_v1_<width>_<resolution>        mobilenet_v1_0.75_160   (TF-slim MobileNet v1)
    mobilenet_v2_<width>_<resolution>        mobilenet_v2_1.4_224    (TF-slim MobileNet v2)
    mobilenet_v3_<large|small>_<width>       mobilenet_v3_large_0.75 (224×224; SE + h-swish)
    mobilenet_v3_<large|small>_minimal       the "minimalistic" v3: no SE, ReLU, 3×3 only
    efficientnet_edgetpu_<s|m|l>             EfficientNet-EdgeTPU (fused-IBN early stages, ReLU, no SE)
    resnet<50|101|152>_<v1|v2>_<resolution>  ResNet bottleneck nets (v2: pre-activation)
    vgg16, vgg19, squeezenet_v1.1, inception_v1, densenet121      (224×224)

Sources of the definitions: the TF-slim model definitions (``tensorflow/models``
``research/slim/nets``) and the TPU repository's ``efficientnet_edgetpu_builder.py``; each function
below names its block table. 1001 classes for the TF-slim networks (their background class), 1000
otherwise. Batch norm is folded into the preceding convolution and activations are fused into it,
as the deployed (TFLite / Edge TPU) graphs run them; pre-activation batch norm that cannot be
folded (ResNet v2, DenseNet) is an ``elementwise`` layer, as are residual adds and SE gates.
"""
from __future__ import annotations

import math
import re

from ..errors import DecodeError, Problem
from ..layer import Layer
from ..workload.from_arch import LayerBuilder

_PATTERNS = {
    "mobilenet_v1": re.compile(r"^mobilenet_v1_(0\.25|0\.5|0\.75|1\.0)_(96|128|160|192|224)$"),
    "mobilenet_v2": re.compile(r"^mobilenet_v2_(0\.35|0\.5|0\.75|1\.0|1\.3|1\.4)_(96|128|160|192|224)$"),
    "mobilenet_v3": re.compile(r"^mobilenet_v3_(large|small)_(0\.75|1\.0|minimal)$"),
    "efficientnet_edgetpu": re.compile(r"^efficientnet_edgetpu_(s|m|l)$"),
    "resnet": re.compile(r"^resnet(50|101|152)_(v1|v2)_(224|299)$"),
    "fixed": re.compile(r"^(vgg16|vgg19|squeezenet_v1\.1|inception_v1|densenet121)$"),
}
#: examples of every form (documentation and tests)
EXAMPLES = ("mobilenet_v1_0.75_160", "mobilenet_v2_1.4_224", "mobilenet_v3_large_1.0", "mobilenet_v3_small_minimal",
            "efficientnet_edgetpu_m", "resnet50_v1_299", "resnet152_v2_299", "vgg16", "vgg19", "squeezenet_v1.1",
            "inception_v1", "densenet121")


def is_imagenet_arch(text: str) -> bool:
    return any(p.match(text.strip()) for p in _PATTERNS.values())


def parse(arch: str) -> tuple[str, tuple[str, ...]]:
    """(form, captured fields); an unknown name is an error listing the forms."""
    text = arch.strip() if isinstance(arch, str) else ""
    for form, pattern in _PATTERNS.items():
        m = pattern.match(text)
        if m:
            return form, m.groups()
    raise DecodeError(Problem("ImageNet network name", f"`{text[:80]}` is not a known published network; expected "
                              f"one of the forms " + ", ".join(EXAMPLES) + " (see codesign.nets.imagenet)"))


def workload(arch: str, batch: int = 1) -> list[Layer]:
    """The layers the deployed network executes, in order."""
    form, groups = parse(arch)
    if form == "mobilenet_v1":
        return _mobilenet_v1(float(groups[0]), int(groups[1]), batch)
    if form == "mobilenet_v2":
        return _mobilenet_v2(float(groups[0]), int(groups[1]), batch)
    if form == "mobilenet_v3":
        return _mobilenet_v3(groups[0], groups[1], batch)
    if form == "efficientnet_edgetpu":
        return _efficientnet_edgetpu(groups[0], batch)
    if form == "resnet":
        return _resnet(int(groups[0]), groups[1], int(groups[2]), batch)
    return _FIXED[groups[0]](batch)


def make_divisible(v: float, divisor: int = 8, min_value: int | None = None) -> int:
    """TF-slim's channel rounding: the nearest multiple of ``divisor``, never 10% below ``v``."""
    min_value = min_value or divisor
    new = max(min_value, int(v + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * v else new


class _Net(LayerBuilder):
    """``LayerBuilder`` plus branches (Inception, fire modules, dense blocks)."""

    def state(self) -> tuple[int, int, int]:
        return self.ch, self.h, self.w

    def restore(self, state: tuple[int, int, int]) -> None:
        self.ch, self.h, self.w = state

    def concat(self, name: str, channels: int, state: tuple[int, int, int]) -> None:
        """Concatenate branches along channels; ``state`` is one branch's output shape."""
        _, h, w = state
        self.layers.append(Layer("data_movement", "concat", self.n, channels, channels, h, w, name=name))
        self.ch, self.h, self.w = channels, h, w

    def act(self, name: str, fn: str) -> None:
        """An unfolded batch norm + activation (pre-activation networks): one elementwise pass."""
        self.elementwise(name, fn, operands=1)

    def maxpool(self, name: str, kernel: int = 3, stride: int = 2, same: bool = True) -> None:
        self.pool(name, "max", kernel, stride, (kernel - 1) if same else 0)

    def finish(self, classes: int) -> list[Layer]:
        self.head(classes)
        return self.layers


# ---- MobileNets -----------------------------------------------------------------------------

_V1_BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)) + ((512, 1),) * 5 + ((1024, 2), (1024, 1))


def _mobilenet_v1(width: float, res: int, batch: int) -> list[Layer]:
    """TF-slim ``mobilenet_v1.py`` ``MOBILENETV1_CONV_DEFS``; channels ``max(int(c × width), 8)``."""
    d = lambda c: max(int(c * width), 8)  # noqa: E731
    net = _Net(batch, 3, res)
    net.conv("conv0", d(32), 3, 2, 1, "relu6")
    for i, (c, s) in enumerate(_V1_BLOCKS, start=1):
        net.conv(f"conv{i}.dw", net.ch, 3, s, net.ch, "relu6")
        net.conv(f"conv{i}.pw", d(c), 1, 1, 1, "relu6")
    return net.finish(1001)


_V2_BLOCKS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
              (6, 320, 1, 1))  # (expansion t, channels c, repeats n, first stride s): the paper's Table 2


def _inverted_residual(net: _Net, name: str, mid: int, out: int, kernel: int, stride: int, fn: str,
                       se: int = 0, gate: str = "hsigmoid") -> None:
    block_in = net.ch
    if mid != block_in:
        net.conv(f"{name}.expand", mid, 1, 1, 1, fn)
    net.conv(f"{name}.dw", mid, kernel, stride, mid, fn)
    if se:
        net.squeeze_excite(f"{name}.se", se, gate)
    net.conv(f"{name}.project", out, 1, 1, 1, "none")
    if stride == 1 and block_in == out:
        net.elementwise(f"{name}.residual", "add")


def _mobilenet_v2(width: float, res: int, batch: int) -> list[Layer]:
    """TF-slim ``mobilenet_v2.py`` ``V2_DEF``: channels ``make_divisible(c × width, 8)``, the last 1×1 conv
    1280 channels (× width above 1)."""
    net = _Net(batch, 3, res)
    net.conv("conv0", make_divisible(32 * width), 3, 2, 1, "relu6")
    i = 0
    for t, c, n, s in _V2_BLOCKS:
        for j in range(n):
            out = make_divisible(c * width)
            _inverted_residual(net, f"b{i}", make_divisible(net.ch * t) if t > 1 else net.ch, out, 3,
                               s if j == 0 else 1, "relu6")
            i += 1
    net.conv("conv_last", make_divisible(1280 * max(width, 1.0)), 1, 1, 1, "relu6")
    return net.finish(1001)


# (kernel, expansion channels, out channels, SE, activation, stride): the MobileNetV3 paper's Tables 1 and 2
_V3_LARGE = ((3, 16, 16, 0, "relu", 1), (3, 64, 24, 0, "relu", 2), (3, 72, 24, 0, "relu", 1),
             (5, 72, 40, 1, "relu", 2), (5, 120, 40, 1, "relu", 1), (5, 120, 40, 1, "relu", 1),
             (3, 240, 80, 0, "hswish", 2), (3, 200, 80, 0, "hswish", 1), (3, 184, 80, 0, "hswish", 1),
             (3, 184, 80, 0, "hswish", 1), (3, 480, 112, 1, "hswish", 1), (3, 672, 112, 1, "hswish", 1),
             (5, 672, 160, 1, "hswish", 2), (5, 960, 160, 1, "hswish", 1), (5, 960, 160, 1, "hswish", 1))
_V3_SMALL = ((3, 16, 16, 1, "relu", 2), (3, 72, 24, 0, "relu", 2), (3, 88, 24, 0, "relu", 1),
             (5, 96, 40, 1, "hswish", 2), (5, 240, 40, 1, "hswish", 1), (5, 240, 40, 1, "hswish", 1),
             (5, 120, 48, 1, "hswish", 1), (5, 144, 48, 1, "hswish", 1), (5, 288, 96, 1, "hswish", 2),
             (5, 576, 96, 1, "hswish", 1), (5, 576, 96, 1, "hswish", 1))


def _mobilenet_v3(size: str, variant: str, batch: int) -> list[Layer]:
    """MobileNetV3-Large/Small (``mobilenet_v3.py`` ``V3_LARGE``/``V3_SMALL`` and their minimalistic
    forms); SE squeeze ``make_divisible(expansion / 4)``, hard-sigmoid gate; head 1×1 conv, pool, 1×1
    conv to 1280 (large) / 1024 (small) with h-swish, classifier."""
    minimal = variant == "minimal"
    width = 1.0 if minimal else float(variant)
    table = _V3_LARGE if size == "large" else _V3_SMALL
    net = _Net(batch, 3, 224)
    net.conv("conv0", make_divisible(16 * width), 3, 2, 1, "relu" if minimal else "hswish")
    for i, (k, exp, out, se, fn, s) in enumerate(table):
        mid = make_divisible(exp * width)
        _inverted_residual(net, f"b{i}", mid, make_divisible(out * width), 3 if minimal else k, s,
                           "relu" if minimal else fn, se=0 if minimal or not se else make_divisible(mid / 4))
    fn = "relu" if minimal else "hswish"
    net.conv("conv_last", make_divisible(table[-1][1] * width), 1, 1, 1, fn)
    ch, h, w = net.state()
    net.layers.append(Layer("pool", "gavg", net.n, ch, ch, 1, 1, h, w, name="head.pool"))
    net.h = net.w = 1
    net.conv("head.conv", 1280 if size == "large" else 1024, 1, 1, 1, fn)
    net.layers.append(Layer("fc", "none", net.n, 1001, net.ch, 1, 1, bias=1, name="classifier"))
    return net.layers


# (repeats, kernel, stride, expansion, in, out, fused): efficientnet_edgetpu_builder.py's blocks_args
_EDGETPU_BLOCKS = ((1, 3, 1, 4, 24, 24, True), (2, 3, 2, 8, 24, 32, True), (4, 3, 2, 8, 32, 48, True),
                   (5, 5, 2, 8, 48, 96, False), (4, 5, 1, 8, 96, 144, False), (2, 5, 2, 8, 144, 192, False))
#: (width coefficient, depth coefficient, resolution): efficientnet_edgetpu_params
_EDGETPU_PARAMS = {"s": (1.0, 1.0, 224), "m": (1.0, 1.1, 240), "l": (1.2, 1.4, 300)}


def _efficientnet_edgetpu(variant: str, batch: int) -> list[Layer]:
    width, depth, res = _EDGETPU_PARAMS[variant]
    filters = lambda c: make_divisible(c * width)  # noqa: E731
    net = _Net(batch, 3, res)
    net.conv("stem", filters(32), 3, 2, 1, "relu")
    i = 0
    for b, (r, k, s, e, _cin, cout, fused) in enumerate(_EDGETPU_BLOCKS):
        for j in range(int(math.ceil(depth * r))):
            name, block_in, out, stride = f"b{i}", net.ch, filters(cout), s if j == 0 else 1
            if fused:
                net.conv(f"{name}.fused", block_in * e, k, stride, 1, "relu")
                net.conv(f"{name}.project", out, 1, 1, 1, "none")
                if stride == 1 and block_in == out and b > 0:  # the first block is `noskip`
                    net.elementwise(f"{name}.residual", "add")
            else:
                _inverted_residual(net, name, block_in * e, out, k, stride, "relu")
            i += 1
    net.conv("head.conv", filters(1280), 1, 1, 1, "relu")
    return net.finish(1001)


# ---- classic CNNs ---------------------------------------------------------------------------

_RESNET_DEPTHS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}


def _resnet(depth: int, version: str, res: int, batch: int) -> list[Layer]:
    """TF-slim ``resnet_v1.py`` / ``resnet_v2.py`` bottleneck networks (stride in the 3×3 conv;
    projection shortcut on each stage's first unit). v2 is pre-activation: an unfolded batch norm +
    ReLU on every unit's input, and one more before the pool."""
    net = _Net(batch, 3, res)
    net.conv("conv1", 64, 7, 2, 1, "relu" if version == "v1" else "none")
    net.maxpool("pool1")
    for si, (units, width) in enumerate(zip(_RESNET_DEPTHS[depth], (64, 128, 256, 512))):
        for u in range(units):
            name, stride = f"block{si + 1}.unit{u + 1}", 2 if (u == 0 and si > 0) else 1
            if version == "v2":
                net.act(f"{name}.preact", "relu")
            x = net.state()
            if u == 0:
                net.conv(f"{name}.shortcut", width * 4, 1, stride, 1, "none")
                net.restore(x)
            net.conv(f"{name}.conv1", width, 1, 1, 1, "relu")
            net.conv(f"{name}.conv2", width, 3, stride, 1, "relu")
            net.conv(f"{name}.conv3", width * 4, 1, 1, 1, "none")
            net.elementwise(f"{name}.add", "add" if version == "v2" else "addrelu")
    if version == "v2":
        net.act("postnorm", "relu")
    return net.finish(1001 if version == "v2" else 1000)


def _vgg(convs: tuple[int, ...], batch: int) -> list[Layer]:
    """VGG (Simonyan & Zisserman, configurations D and E): 3×3 convs, 2×2 max pools, three FC layers."""
    net = _Net(batch, 3, 224)
    for si, (n, ch) in enumerate(zip(convs, (64, 128, 256, 512, 512))):
        for j in range(n):
            net.conv(f"conv{si + 1}_{j + 1}", ch, 3, 1, 1, "relu")
        net.pool(f"pool{si + 1}", "max", 2, 2, 0)
    flat = net.ch * net.h * net.w
    net.layers.append(Layer("data_movement", "flatten", batch, flat, flat, 1, 1, name="flatten"))
    net.layers.append(Layer("fc", "relu", batch, 4096, flat, 1, 1, bias=1, name="fc6"))
    net.layers.append(Layer("fc", "relu", batch, 4096, 4096, 1, 1, bias=1, name="fc7"))
    net.layers.append(Layer("fc", "none", batch, 1000, 4096, 1, 1, bias=1, name="fc8"))
    return net.layers


def _squeezenet(batch: int) -> list[Layer]:
    """SqueezeNet v1.1 (the reference repository's v1.1 definition): fire modules of a 1×1 squeeze
    and concatenated 1×1 and 3×3 expands."""
    net = _Net(batch, 3, 224)
    net.conv("conv1", 64, 3, 2, 1, "relu")
    net.maxpool("pool1", same=False)
    fires = ((16, 64), (16, 64), "pool", (32, 128), (32, 128), "pool", (48, 192), (48, 192), (64, 256), (64, 256))
    for i, f in enumerate(fires):
        if f == "pool":
            net.maxpool(f"pool{i}", same=False)
            continue
        squeeze, expand = f
        net.conv(f"fire{i}.squeeze", squeeze, 1, 1, 1, "relu")
        x = net.state()
        net.conv(f"fire{i}.expand1x1", expand, 1, 1, 1, "relu")
        net.restore(x)
        net.conv(f"fire{i}.expand3x3", expand, 3, 1, 1, "relu")
        net.concat(f"fire{i}.concat", 2 * expand, net.state())
    net.conv("conv10", 1000, 1, 1, 1, "relu")
    ch, h, w = net.state()
    net.layers.append(Layer("pool", "gavg", batch, ch, ch, 1, 1, h, w, name="pool10"))
    return net.layers


# (1×1, 3×3 reduce, 3×3, 5×5 reduce, 5×5 — a 3×3 in TF-slim, pool projection): GoogLeNet's Table 1
_INCEPTION = {"3a": (64, 96, 128, 16, 32, 32), "3b": (128, 128, 192, 32, 96, 64), "pool3": None,
              "4a": (192, 96, 208, 16, 48, 64), "4b": (160, 112, 224, 24, 64, 64), "4c": (128, 128, 256, 24, 64, 64),
              "4d": (112, 144, 288, 32, 64, 64), "4e": (256, 160, 320, 32, 128, 128), "pool4": None,
              "5a": (256, 160, 320, 32, 128, 128), "5b": (384, 192, 384, 48, 128, 128)}


def _inception_v1(batch: int) -> list[Layer]:
    """TF-slim ``inception_v1.py`` (GoogLeNet with batch norm; its "5×5" branch is a 3×3 conv)."""
    net = _Net(batch, 3, 224)
    net.conv("conv1", 64, 7, 2, 1, "relu")
    net.maxpool("pool1")
    net.conv("conv2.reduce", 64, 1, 1, 1, "relu")
    net.conv("conv2", 192, 3, 1, 1, "relu")
    net.maxpool("pool2")
    for name, spec in _INCEPTION.items():
        if spec is None:
            net.maxpool(name)
            continue
        b1, r3, b3, r5, b5, bp = spec
        x = net.state()
        net.conv(f"{name}.b1", b1, 1, 1, 1, "relu")
        net.restore(x)
        net.conv(f"{name}.b2.reduce", r3, 1, 1, 1, "relu")
        net.conv(f"{name}.b2", b3, 3, 1, 1, "relu")
        net.restore(x)
        net.conv(f"{name}.b3.reduce", r5, 1, 1, 1, "relu")
        net.conv(f"{name}.b3", b5, 3, 1, 1, "relu")
        net.restore(x)
        net.pool(f"{name}.b4.pool", "max", 3, 1, 2)
        net.conv(f"{name}.b4", bp, 1, 1, 1, "relu")
        net.concat(f"{name}.concat", b1 + b3 + b5 + bp, net.state())
    return net.finish(1001)


def _densenet121(batch: int) -> list[Layer]:
    """DenseNet-121 (Huang et al.): blocks of 6, 12, 24, 16 layers, growth 32, bottleneck 4 × 32,
    compression 0.5; every conv pre-activated by an unfolded batch norm + ReLU."""
    net = _Net(batch, 3, 224)
    net.conv("conv0", 64, 7, 2, 1, "relu")
    net.maxpool("pool0")
    for bi, n in enumerate((6, 12, 24, 16)):
        for li in range(n):
            name, x = f"block{bi + 1}.layer{li + 1}", net.state()
            net.act(f"{name}.norm1", "relu")
            net.conv(f"{name}.conv1", 128, 1, 1, 1, "relu")
            net.conv(f"{name}.conv2", 32, 3, 1, 1, "none")
            net.concat(f"{name}.concat", x[0] + 32, net.state())
        if bi < 3:
            net.act(f"transition{bi + 1}.norm", "relu")
            net.conv(f"transition{bi + 1}.conv", net.ch // 2, 1, 1, 1, "none")
            net.pool(f"transition{bi + 1}.pool", "avg", 2, 2, 0)
    net.act("norm5", "relu")
    return net.finish(1000)


_FIXED = {"vgg16": lambda b: _vgg((2, 2, 3, 3, 3), b), "vgg19": lambda b: _vgg((2, 2, 4, 4, 4), b),
          "squeezenet_v1.1": _squeezenet, "inception_v1": _inception_v1, "densenet121": _densenet121}
