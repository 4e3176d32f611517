"""Which loop dimensions each dataflow may unroll on each axis of the PE array: the one table both
the analytical model and the zigzag-dse backend read (ZigZag's dimension names: ``K`` output
channels, ``C`` input channels, ``G`` groups, ``OY``/``OX`` output rows/columns, ``FY``/``FX``
filter rows/columns).

Axes: ``rows`` and ``cols`` of the PE array and ``lanes``, the MAC lanes inside one PE. Each layer
takes, per axis, the allowed dimension that fills it best (a per-layer choice, as ZigZag's spatial
mapping search makes it): a narrow layer on wide PEs unrolls its input channels there instead of
leaving most lanes idle.
"""
from __future__ import annotations

AXES = ("rows", "cols", "lanes")
#: dataflow -> axis -> dimensions that axis may unroll
SPATIAL_DIMS: dict[str, dict[str, tuple[str, ...]]] = {
    "weight_stationary": {"rows": ("C",), "cols": ("K", "G"), "lanes": ("K", "G", "C")},
    "output_stationary": {"rows": ("OY",), "cols": ("OX",), "lanes": ("K", "G", "C")},
    "row_stationary": {"rows": ("FY", "C"), "cols": ("OY",), "lanes": ("K", "G", "C")},
    # weight stationary whose input axis may also take filter taps: a layer with few input channels (the
    # 3-channel first convolution) unrolls its filter rows or columns there instead of idling most rows,
    # the im2col-like first-layer mapping of compiler-driven accelerators (NVDLA's image-input mode)
    "weight_stationary_flex": {"rows": ("C", "FY", "FX"), "cols": ("K", "G"), "lanes": ("K", "G", "C")},
}
#: ZigZag's names of the array axes
ZIGZAG_AXES = {"rows": "D1", "cols": "D2", "lanes": "D3"}


def zigzag_hint(dataflow: str) -> dict[str, list[str]]:
    """The ``spatial_mapping_hint`` of ZigZag's mapping YAML for ``dataflow``."""
    return {ZIGZAG_AXES[axis]: list(dims) for axis, dims in SPATIAL_DIMS[dataflow].items()}
