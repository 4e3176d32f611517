import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("default", deadline=None, max_examples=100,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "default")


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory):
    """One finished `codesign search examples/smoke.yaml` run directory, shared by the tests that only read it."""
    from codesign.cli.main import main

    run = tmp_path_factory.mktemp("smoke") / "run"
    assert main(["search", "examples/smoke.yaml", "--out", str(run), "--no-progress"]) == 0
    return run
