import numpy as np
import pytest

from codesign import ValidationError
from codesign.spaces import ArchSpace, HwSpace, JointSpace


def test_default_spaces_have_the_documented_shape():
    joint = JointSpace.default()
    assert joint.arch.resolution == 32 and 6 <= len(joint.arch.stages) <= 7
    assert {3, 5, 7} <= set(joint.arch.stages[2].kernel) and set(joint.arch.stages[2].expansion) == {1, 3, 6}
    assert set(joint.arch.stages[2].block_type) == {"ibn", "fused_ibn"}
    assert sum(max(s.depth) for s in joint.arch.stages) >= 20  # room for 20-block networks
    assert joint.hw.area_budget_mm2 is not None
    assert joint.arch.log10_size() > 30 and joint.hw.log10_size() > 4
    assert joint.log10_size() == pytest.approx(joint.arch.log10_size() + joint.hw.log10_size())


def test_log10_size_counts_distinct_networks_exactly():
    space = ArchSpace.from_dict({"stages": [{"stride": 1, "depth": [1, 2], "channels": [8, 16],
                                             "kernel": [3, 5], "expansion": 1}],
                                 "stem": {"channels": 8}, "head": {"channels": 32}})
    # widths (2) x (blocks at depth 1: 2 + at depth 2: 2*2) = 12
    assert 10 ** space.log10_size() == pytest.approx(12)


def test_sampling_is_reproducible_from_the_seed():
    joint = JointSpace.default()
    a = [joint.sample(np.random.default_rng(7)).key for _ in range(3)]
    assert len(set(a)) == 1
    assert joint.sample(np.random.default_rng(8)).key != a[0]


def test_samples_belong_to_the_space_and_encode_back(rng):
    joint = JointSpace.default()
    for _ in range(50):
        cand = joint.sample(rng)
        assert joint.arch.contains(cand.arch)
        assert joint.decode(joint.encode(cand)) == cand
        assert joint.from_vector(joint.to_vector(cand)) == cand


def test_mutation_changes_exactly_one_active_decision(rng):
    joint = JointSpace.default()
    for _ in range(100):
        cand = joint.sample(rng)
        child = joint.mutate(cand, rng)
        assert child != cand
        before, after = joint.encode(cand), joint.encode(child)
        changed = [k for k in before if before[k] != after[k]]
        # a depth change can also reset the options of blocks it deactivates
        assert len([k for k in changed if k in joint.active(before) and k in joint.active(after)]) <= 1
        assert any(k in joint.active(before) for k in changed)


def test_an_architecture_outside_the_space_is_rejected_with_the_field(rng):
    space = ArchSpace.default()
    arch = space.sample(rng)
    from dataclasses import replace

    bad = replace(arch, head=replace(arch.head, channels=333))
    with pytest.raises(ValidationError, match="head.channels"):
        space.encode(bad)


def test_space_yaml_errors_name_file_and_field(tmp_path):
    path = tmp_path / "space.yaml"
    path.write_text("stages:\n  - {stride: 3, depth: [1, 1], channels: [16], kernel: [4]}\n"
                    "stem: {channels: 16, color: 1}\n")
    with pytest.raises(ValidationError) as exc:
        ArchSpace.from_yaml(path)
    msg = str(exc.value)
    for field in ("stages[0].stride", "stages[0].depth", "stages[0].kernel[0]", "stem.color"):
        assert f"{path}:{field}" in msg, field


def test_hw_space_yaml_errors(tmp_path):
    path = tmp_path / "hw.yaml"
    text = (HwSpace.default().fields and
            "pe_rows: [4, 400]\npe_cols: 8\nmacs_per_pe: 1\nrf_bytes_per_pe: 64\nlocal_buffer_bytes_per_pe: 0\n"
            "global_buffer_bytes: [64KiB, lots]\ndram_bw_bytes_per_cycle: 8\nclock_mhz: 800\n"
            "dataflow: [weight_stationary]\nprecision_bits: 8\ntech: 45nm\narea_budget_mm2: -1\n")
    path.write_text(text)
    with pytest.raises(ValidationError) as exc:
        HwSpace.from_yaml(path)
    msg = str(exc.value)
    assert f"{path}:pe_rows[1]" in msg and f"{path}:global_buffer_bytes[1]" in msg and "area_budget_mm2" in msg


@pytest.mark.parametrize("resolve", [ArchSpace.resolve, HwSpace.resolve])
def test_a_space_name_too_long_for_the_file_system_is_a_clear_error(resolve):
    with pytest.raises(ValidationError, match="not a shipped"):
        resolve("x" * 400)  # found by the loader fuzz test: the file system refused the name (ENAMETOOLONG)
