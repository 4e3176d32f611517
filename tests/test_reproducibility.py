"""A seeded search gives the same supernet and the same trials in any process, interrupted or not."""
import torch

from codesign.spaces import ArchSpace
from codesign.accuracy.supernet import Supernet
from kill_resume import run_with_kills, uninterrupted


def write_supernet_config(path, trials=8):
    path.write_text(f"""name: reproducible
seed: 1
space: {{arch: ibn_32_compact, hw: nahas_like}}
data: {{name: digits, seed: 0}}
accuracy:
  fidelity: supernet
  supernet: {{steps: 12, batch_size: 32, random_subnets: 1, seed: 3}}
  calib_images: 64
objectives: [accuracy, latency_ms, energy_mj]
searcher: {{name: random, batch: 4}}
budget: {{trials: {trials}}}
executor: {{kind: inline, timeout_s: 120}}
""")
    return path


def test_a_seeded_supernet_has_the_same_weights_every_time_and_leaves_the_global_rng_alone():
    space = ArchSpace.resolve("ibn_32_compact")
    before = torch.random.get_rng_state()
    first, second = Supernet(space, seed=3).state_dict(), Supernet(space, seed=3).state_dict()
    assert torch.equal(torch.random.get_rng_state(), before)
    assert all(torch.equal(first[k], second[k]) for k in first)
    other = Supernet(space, seed=4).state_dict()
    assert not all(torch.equal(first[k], other[k]) for k in first)


def test_supernet_search_is_byte_identical_in_fresh_processes_with_and_without_an_interruption(tmp_path, rng):
    config = write_supernet_config(tmp_path / "s.yaml")
    straight = uninterrupted(config, tmp_path / "a")
    again = uninterrupted(config, tmp_path / "b")
    killed = run_with_kills(config, tmp_path / "killed", kills=1, rng=rng)
    assert killed.kills == 1 and killed.problems == []
    blob = (tmp_path / "a" / "supernet.pt").read_bytes()
    assert (tmp_path / "b" / "supernet.pt").read_bytes() == blob
    assert (tmp_path / "killed" / "supernet.pt").read_bytes() == blob
    assert straight == again == killed.final and len(straight) == 8
