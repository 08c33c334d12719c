"""Benchmark data preparation and fitting at the post's scale.

Usage: ``.venv/bin/python -m bench.prepare [--likes PATH] [--repeat 3]``

1. Load, deduplicate, threshold and build the likes matrix: ours against an
   equivalent of the post's pandas code, each in its own child process so
   peak memory (ru_maxrss) is that step's alone. Reported as rows per second,
   peak RSS, and the ratio of the two times.
2. A reference-scale fit (40 factors, 22 iterations): ``training`` against calling
   ``implicit`` directly on the same confidence matrix, alternating runs.

Without ``--likes`` it writes the reference-scale demo file (15k users x 25k
models) to bench/out/reference_scale.psv once.
"""

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import time

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")


def ours(path):
    """The training package: stream, dedup, threshold, CSR."""
    from training.core.likes import read_likes
    from training.core.prepare import prepare

    return prepare(read_likes(path)).likes


def reference_pandas(path):
    """The post's steps with pandas.

    read_csv, drop_duplicates, the threshold loop, id maps, coo -> csr.
    """
    import numpy as np
    import pandas as pd
    import scipy.sparse as sparse

    df = pd.read_csv(path, sep="|", quoting=csv.QUOTE_MINIMAL, quotechar="\\")
    df = df.drop_duplicates()[["uid", "mid"]]
    while True:
        start = df.shape[0]
        per_user = df.groupby("uid").mid.count()
        df = df[~df.uid.isin(per_user[per_user < 5].index.tolist())]
        per_model = df.groupby("mid").uid.count()
        df = df[~df.mid.isin(per_model[per_model < 5].index.tolist())]
        if df.shape[0] == start:
            break
    uid_to_idx = {uid: i for i, uid in enumerate(df.uid.unique().tolist())}
    mid_to_idx = {mid: i for i, mid in enumerate(df.mid.unique().tolist())}
    rows = df.uid.map(uid_to_idx).to_numpy()
    cols = df.mid.map(mid_to_idx).to_numpy()
    return sparse.coo_matrix((np.ones(len(rows)), (rows, cols)), dtype=np.float64).tocsr()


def child(step, path):
    """Run one step in this process; print seconds, peak RSS and the matrix size as JSON."""
    import numpy  # noqa: F401  (imported before the baseline so it is not counted)
    import scipy.sparse  # noqa: F401

    if step == "reference_pandas":
        import pandas  # noqa: F401
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    matrix = {"ours": ours, "reference_pandas": reference_pandas}[step](path)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_mib": peak / 1024,
                "extra_mib": (peak - baseline) / 1024,
                "shape": list(matrix.shape),
                "nnz": int(matrix.nnz),
            }
        )
    )


def run_child(step, path):
    out = subprocess.run(
        [sys.executable, __file__, "--child", step, "--likes", path],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)


def bench_prepare(path, repeat):
    with open(path, "rb") as f:
        rows = sum(1 for _ in f) - 1
    best = {}
    for _ in range(repeat):
        for step in ("ours", "reference_pandas"):
            result = run_child(step, path)
            if step not in best or result["seconds"] < best[step]["seconds"]:
                best[step] = result
    assert best["ours"]["shape"] == best["reference_pandas"]["shape"]
    assert best["ours"]["nnz"] == best["reference_pandas"]["nnz"]
    print(
        f"prepare: {rows} rows -> {best['ours']['shape']} matrix, {best['ours']['nnz']} likes "
        f"(best of {repeat})"
    )
    for step, r in best.items():
        print(
            f"  {step:12s} {r['seconds']:6.2f} s  {rows / r['seconds']:10,.0f} rows/s  "
            f"peak RSS {r['peak_mib']:6.0f} MiB (+{r['extra_mib']:.0f} MiB for the step)"
        )
    print(
        f"  ratio reference_pandas / ours time: "
        f"{best['reference_pandas']['seconds'] / best['ours']['seconds']:.2f}x"
    )


def bench_fit(path, repeat):
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    from training.confidence import confidence
    from training.core.params import Params
    from training.wrmf import fit

    likes = ours(path)
    params = Params(factors=40, regularization=0.1, alpha=50)

    def direct():
        with threadpool_limits(1, "blas"):
            model = AlternatingLeastSquares(
                factors=40, regularization=0.1, alpha=1.0, iterations=22, random_state=0
            )
            model.fit(confidence(likes, 50), show_progress=False)

    times = {"training.wrmf.fit": [], "implicit direct": []}
    for _ in range(repeat):
        for name, call in (
            ("training.wrmf.fit", lambda: fit(likes, params, 22)),
            ("implicit direct", direct),
        ):
            started = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - started)
    best = {name: min(t) for name, t in times.items()}
    print(f"fit: 40 factors, 22 iterations on {likes.shape} ({likes.nnz} likes), best of {repeat}")
    for name, t in best.items():
        print(f"  {name:18s} {t:6.2f} s")
    print(f"  ratio ours / direct: {best['training.wrmf.fit'] / best['implicit direct']:.3f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--likes")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", choices=["ours", "reference_pandas"])
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.likes)
    path = args.likes or reference_scale_demo()
    bench_prepare(path, args.repeat)
    bench_fit(path, args.repeat)


def reference_scale_demo():
    """The reference-scale demo file (15k users x 25k models), written once to bench/out/."""
    return demo_file(15000, 25000)


def demo_file(users, models):
    """``python -m training demo`` of ``users`` x ``models``, written once to bench/out/."""
    path = os.path.join(OUT, f"demo_{users}x{models}.psv")
    if not os.path.exists(path):
        command = [sys.executable, "-m", "training", "demo", "--out", path]
        subprocess.run([*command, "--users", str(users), "--models", str(models)], check=True)
    return path


if __name__ == "__main__":
    main()
