"""Run the exported TVM library (``model.so``, compiled for the host CPU by ``codesign export``).

Needs only numpy and apache-tvm (0.27) — not codesign:

    python tvm/run_tvm.py                              # sample_input.npy → compared with sample_output.npy
    python tvm/run_tvm.py --input x.npy --output y.npy # your own input: float32, N×C×H×W as in model_card.md
    python tvm/run_tvm.py --time 50                    # also the median latency (ms) of 50 timed runs

Prints one JSON line; exits 1 when the check against sample_output.npy fails.
"""
import argparse
import json
import pathlib
import sys

import numpy as np
import tvm
from tvm import relax

HERE = pathlib.Path(__file__).resolve().parent
BUNDLE = HERE.parent
TOLERANCE = 1e-3  # max |difference| of the logits against onnxruntime's


def load(path=HERE / "model.so"):
    """A Relax virtual machine running the library on the CPU."""
    return relax.VirtualMachine(tvm.runtime.load_module(str(path)), tvm.cpu())


def run(vm, x):
    """Logits (float32) for input ``x``."""
    out = vm["main"](tvm.runtime.tensor(np.ascontiguousarray(x, dtype=np.float32)))
    return out.numpy() if hasattr(out, "numpy") else out[0].numpy()


def median_ms(vm, x, repeats):
    timer = vm.time_evaluator("main", tvm.cpu(), number=1, repeat=repeats, min_repeat_ms=10)
    return float(np.median(np.asarray(timer(tvm.runtime.tensor(np.ascontiguousarray(x, dtype=np.float32))).results))
                 * 1e3)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--input", default=str(BUNDLE / "sample_input.npy"))
    ap.add_argument("--expected", default=None, help="logits to compare with (default: sample_output.npy "
                                                     "when the input is sample_input.npy)")
    ap.add_argument("--output", default=None, help="write the logits here (.npy)")
    ap.add_argument("--time", type=int, default=0, metavar="REPEATS", help="time REPEATS runs")
    args = ap.parse_args()
    x = np.load(args.input)
    vm = load()
    y = run(vm, x)
    result = {"output_shape": list(y.shape), "top1": y.argmax(axis=-1).tolist()}
    expected = args.expected or (str(BUNDLE / "sample_output.npy")
                                 if pathlib.Path(args.input).resolve() == (BUNDLE / "sample_input.npy").resolve()
                                 else None)
    if expected:
        diff = float(np.max(np.abs(y - np.load(expected))))
        result.update(max_abs_diff=diff, matches=diff <= TOLERANCE)
    if args.time:
        result["median_ms"] = median_ms(vm, x, args.time)
    if args.output:
        np.save(args.output, y)
    print(json.dumps(result))
    return 0 if result.get("matches", True) else 1


if __name__ == "__main__":
    sys.exit(main())
