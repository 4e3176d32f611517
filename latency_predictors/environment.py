"""The measuring environment recorded beside every measurement (CPU, threads, runtime versions)."""
from __future__ import annotations

import os
import platform
from functools import lru_cache


@lru_cache(maxsize=1)
def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(runtime: str, threads: int, **extra) -> dict:
    info = {"runtime": runtime, "threads": threads, "cpu": cpu_model(), "cores": os.cpu_count(),
            "python": platform.python_version(), "machine": platform.machine()}
    if runtime == "ort":
        import onnxruntime

        info["onnxruntime"] = onnxruntime.__version__
    info.update(extra)
    return info
