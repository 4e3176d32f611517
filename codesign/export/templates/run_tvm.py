"""Run the exported TVM library (``model.so``, compiled for the host CPU by ``codesign export``).

Needs only numpy and apache-tvm (0.27) — not codesign:

    python tvm/run_tvm.py                              # sample_input.npy → compared with sample_output.npy
    python tvm/run_tvm.py --input x.npy --output y.npy # your own input: float32, N×C×H×W as in model_card.md
    python tvm/run_tvm.py --time 50                    # also the median latency (ms) of 50 timed runs
    python tvm/run_tvm.py --batch 4                    # sample_input.npy repeated 4 times, on model_b4.so

A library is compiled per batch size (``codesign export --batch-sizes 1,4``): ``model.so`` runs batch 1,
``model_b<N>.so`` batch N; the one matching the input's first dimension is loaded.

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


def library_for(batch):
    """The library compiled for ``batch`` images."""
    path = HERE / ("model.so" if batch == 1 else f"model_b{batch}.so")
    if not path.is_file():
        built = sorted([1] * (HERE / "model.so").is_file() + [int(p.stem[7:]) for p in HERE.glob("model_b*.so")])
        sys.exit(f"no TVM library for batch {batch} in {HERE} (built for batch sizes {built}; "
                 f"export again with --batch-sizes including {batch})")
    return path


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
    ap.add_argument("--batch", type=int, default=0, metavar="N", help="repeat the input N times (one batch of N)")
    args = ap.parse_args()
    x = np.load(args.input)
    if args.batch:
        x = np.repeat(x[:1], args.batch, axis=0)
    vm = load(library_for(x.shape[0]))
    y = run(vm, x)
    result = {"output_shape": list(y.shape), "top1": y.argmax(axis=-1).tolist()}
    expected = args.expected or (str(BUNDLE / "sample_output.npy")
                                 if pathlib.Path(args.input).resolve() == (BUNDLE / "sample_input.npy").resolve()
                                 else None)
    if expected:
        diff = float(np.max(np.abs(y - np.load(expected)[:1])))  # every row against the sample's logits
        result.update(max_abs_diff=diff, matches=diff <= TOLERANCE)
    if args.time:
        result["median_ms"] = median_ms(vm, x, args.time)
    if args.output:
        np.save(args.output, y)
    print(json.dumps(result))
    return 0 if result.get("matches", True) else 1


if __name__ == "__main__":
    sys.exit(main())
