"""Hypothesis strategies for the data types (any valid value, not only those of the default space)."""
from hypothesis import strategies as st

from codesign.accel import DATAFLOWS, PRECISIONS, AccelConfig, known_techs
from codesign.arch import ACTIVATIONS, BLOCK_TYPES, ArchConfig, BlockConfig, HeadConfig, StemConfig

activations = st.sampled_from(ACTIVATIONS)
channels = st.integers(1, 512)


@st.composite
def blocks(draw, stride=None):
    return BlockConfig(
        type=draw(st.sampled_from(BLOCK_TYPES)), kernel=draw(st.sampled_from((1, 3, 5, 7))),
        expansion=draw(st.integers(1, 8)), channels=draw(channels),
        stride=draw(st.sampled_from((1, 2))) if stride is None else stride,
        se=draw(st.one_of(st.just(0.0), st.floats(0.01, 1.0, allow_nan=False))),
        activation=draw(activations),
    )


@st.composite
def archs(draw, max_stages=4, max_blocks=3):
    stages = draw(st.lists(st.lists(blocks(stride=1), min_size=1, max_size=max_blocks), min_size=1,
                           max_size=max_stages))
    return ArchConfig(
        stages=tuple(tuple(s) for s in stages),
        stem=StemConfig(draw(st.sampled_from((1, 3, 5, 7))), draw(channels), draw(st.sampled_from((1, 2))),
                        draw(activations)),
        head=HeadConfig(draw(channels), draw(activations)),
        resolution=draw(st.integers(8, 512)), in_channels=draw(st.integers(1, 16)),
        num_classes=draw(st.integers(1, 1000)),
    )


sizes = st.one_of(st.integers(1, 4096), st.integers(1, 2048).map(lambda k: k * 1024))


@st.composite
def accels(draw):
    return AccelConfig(
        pe_rows=draw(st.integers(1, 256)), pe_cols=draw(st.integers(1, 256)), macs_per_pe=draw(st.integers(1, 1024)),
        rf_bytes_per_pe=draw(sizes.filter(lambda n: 4 <= n <= 1024**2)),
        local_buffer_bytes_per_pe=draw(st.one_of(st.just(0), sizes)),
        global_buffer_bytes=draw(sizes.filter(lambda n: n >= 1024)),
        dram_bw_bytes_per_cycle=draw(st.one_of(st.integers(1, 4096).map(float),
                                               st.floats(0.01, 4096, allow_nan=False))),
        clock_mhz=draw(st.one_of(st.integers(1, 10000).map(float), st.floats(0.5, 10000, allow_nan=False))),
        dataflow=draw(st.sampled_from(list(DATAFLOWS))), precision_bits=draw(st.sampled_from(PRECISIONS)),
        tech=draw(st.sampled_from(known_techs())),
    )
