"""The shared top-k routine against the two it replaced, in one run.

Usage: ``.venv/bin/python -m bench.top_k [--repeat 2000]``

``training.core.top_k.top_k`` is timed on the two shapes Sketchrec uses it for,
beside plain ``argpartition`` and, for one row, the batched strategy forced
on it (group maxima, then a search among k x 32 candidates; the former
``metrics.top_k``). ``top_k`` picks the strided-sample bound for one row (the
former ``webapp.neighbours.largest``) and the group maxima for batches:

1. one row of 25k scores, k = 10 and 100 (the similar-models query);
2. a batch of 80 users x 25k scores, k = 5 (p@k).

All results are checked to be the same sets. Prints medians in µs and the
ratios to ``top_k``; timings are never asserted.
"""

import argparse
import statistics
import time

import numpy as np

from training.core.top_k import _grouped, padded_width, top_k

MODELS = 25_000


def full_argpartition(scores, k):
    return np.argpartition(scores, scores.shape[1] - k, axis=1)[:, -k:]


def median_us(function, repeat):
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e6


def compare(label, candidates, repeat):
    results = {name: median_us(fn, repeat) for name, fn in candidates.items()}
    base = results["top_k"]
    cells = "  ".join(f"{name} {us:8.1f} µs ({us / base:4.2f}x)" for name, us in results.items())
    print(f"{label:28s} {cells}")
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    for k in (10, 100):
        row = rng.normal(size=MODELS).astype(np.float32)
        assert set(top_k(row[None, :], k)[0]) == set(_grouped(row[None, :], k)[0])
        compare(
            f"one row of {MODELS}, k={k}",
            {
                "top_k": lambda row=row, k=k: top_k(row[None, :], k),
                "group maxima": lambda row=row, k=k: _grouped(row[None, :], k),
                "argpartition": lambda row=row, k=k: full_argpartition(row[None, :], k),
            },
            args.repeat,
        )
    batch = np.full((80, padded_width(MODELS, 5)), -np.inf, dtype=np.float32)
    batch[:, :MODELS] = rng.normal(size=(80, MODELS))
    assert all(
        set(a) == set(b) for a, b in zip(top_k(batch, 5), full_argpartition(batch, 5), strict=True)
    )
    compare(
        f"80 x {MODELS} (p@k), k=5",
        {"top_k": lambda: top_k(batch, 5), "argpartition": lambda: full_argpartition(batch, 5)},
        max(args.repeat // 20, 20),
    )


if __name__ == "__main__":
    main()
