"""Measured onnxruntime latency: statistics a user can trust, and clear errors."""
import pytest

from codesign import ArchConfig, ValidationError
from codesign.workload.onnx_export import export_onnx
from latency_predictors.ort_runtime import measure_ort
from latency_predictors.timing import summarize, time_callable

NET = ArchConfig.from_string("net_r32_i3_n10:stem_k3_c16_s1:ibn_k3_e1_c16_s1:ibn_k5_e6_c24_s2:head_c128")


def test_measurement_reports_median_spread_and_environment(tmp_path):
    path = tmp_path / "net.onnx"
    export_onnx(NET, path)
    m = measure_ort(path, threads=1, repeats=20)
    assert m.median_ms > 0 and m.iqr_ms >= 0 and m.cv >= 0 and m.samples >= 20
    assert m.env["runtime"] == "ort" and m.env["threads"] == 1 and m.env["onnxruntime"] and m.env["cpu"]


def test_a_bigger_network_measures_slower():
    small = measure_ort(export_onnx(NET), repeats=30)
    big = ArchConfig.from_string(NET.key.replace("c16_s1:ibn", "c64_s1:ibn").replace("head_c128", "head_c1024"))
    assert measure_ort(export_onnx(big), repeats=30).median_ms > small.median_ms


class FakeClock:
    """A clock that only the timed calls advance, by a scripted number of milliseconds each."""

    def __init__(self, durations_ms):
        self.now, self.durations = 0.0, iter(durations_ms)

    def __call__(self):
        return self.now

    def run(self):
        self.now += next(self.durations) / 1e3


def test_noisy_measurements_are_retaken():
    clock = FakeClock([1.0] * 5 + [50.0] + [1.0] * 100)  # one outlier in the first attempt
    samples, attempts = time_callable(clock.run, warmup=0, repeats=10, max_cv=0.3, max_attempts=3, clock=clock)
    assert attempts == 2 and len(samples) == 10
    m = summarize(samples, attempts, {})
    assert m.cv <= 0.3 and m.median_ms == pytest.approx(1.0)


def test_the_least_noisy_attempt_is_kept_when_none_is_quiet():
    noisy = [1.0, 9.0] * 5 + [1.0, 5.0] * 5 + [1.0, 7.0] * 5        # three attempts, none below max_cv
    clock = FakeClock(noisy)
    samples, attempts = time_callable(clock.run, warmup=0, repeats=10, max_cv=0.05, max_attempts=3, clock=clock)
    assert attempts == 3 and sorted(set(samples.round(6))) == [1.0, 5.0]


def test_a_broken_model_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"garbage")
    with pytest.raises(ValidationError, match="bad.onnx"):
        measure_ort(bad)
    with pytest.raises(ValidationError, match="not found"):
        measure_ort(tmp_path / "missing.onnx")
