"""Grid search at the reference post's scale: one checkpoint evaluated its way and ours,
then its grid.

Usage: ``.venv/bin/python bench/grid_search.py [--likes PATH] [--skip-grid] [--repeat 3]``

1. Checkpoint: the reference post's best configuration (40 factors, regularization 0.1,
   alpha 50) after 2 ALS iterations on the reference post's split (5 likes of 20% of
   the users), evaluated
   - the reference post's way, written afresh: for each of the four metrics a dense
     float64 prediction matrix for all users (its ``predict_for_customers``),
     ``argsort`` per test user for p@k, dense rows for the MSE;
   - ours: :class:`training.learning_curve.Evaluation` (test users only,
     grouped top-k, closed-form MSE).
   Both compute the contract's metrics (test p@k without train likes) and
   must agree; reported as best-of-``repeat`` seconds and their ratio.
   Then ours with and without similar-list recall (simk at the default
   exponents 1, 0.5, 0) at 10, 40 and 120 factors, alternating, best of
   ``repeat``: what simk adds to a checkpoint.
2. Grid: the reference post's full grid (5 factors x 6 regularizations x 6 alphas,
   epochs 2..38) with ``training.search.grid_search``, as ``python -m
   training search`` runs it: wall time, fit and evaluation seconds, and the
   reference post's method extrapolated (our fit time + checkpoints x the reference post's
   checkpoint time). The search resumes from bench/out/grid.json, so an
   interrupted run can be continued; seconds are summed per configuration.

Writes bench/out/grid_search.json and the log table to bench/out/grid_search.log.
"""

import argparse
import json
import os
import time

import numpy as np

from training.core.likes import read_likes
from training.core.params import Params
from training.core.prepare import dataset_summary, prepare
from training.evaluation import Evaluation
from training.search import REFERENCE_EPOCHS, Grid, SplitSettings, grid_search
from training.split import split_likes
from training.wrmf import fit

from prepare import reference_scale_demo  # bench/prepare.py, beside this script

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")


def reference_checkpoint(user_factors, item_factors, split, k):
    """The four metrics as the reference post's ``learning_curve`` computed them."""
    users = split.users

    def predict_for_customers():
        x, y = user_factors.astype(np.float64), item_factors.astype(np.float64)
        return x @ y.T

    def calculate_mse(ratings):
        preds = predict_for_customers()
        return float(np.mean((ratings[users].toarray() - preds[users]) ** 2))

    def precision_at_k(ratings, exclude=None):
        predictions = predict_for_customers()
        precisions = []
        for user in users:
            row = predictions[user].copy()
            if exclude is not None:  # the contract's test p@k: only models not liked in training
                row[exclude.getrow(user).indices] = -np.inf
            top_k = np.argsort(-row)[:k]
            labels = ratings.getrow(user).indices
            precisions.append(len(set(top_k) & set(labels)) / k)
        return float(np.mean(precisions))

    train, test = _binary(split.train), _binary(split.test)
    return {
        "mse_train": calculate_mse(train),
        "patk_train": precision_at_k(train),
        "mse_test": calculate_mse(test),
        "patk_test": precision_at_k(test, exclude=train),
    }


def _binary(likes):
    p = likes.astype(np.float64)
    p.data[:] = 1.0
    return p


def best_of(repeat, call):
    """``(seconds, result)``: the fastest of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - started)
    return min(times), result


def bench_checkpoint(prepared, settings, repeat):
    split = split_likes(prepared.likes, settings.split_count, settings.fraction, settings.seed)
    model = fit(split.train, Params(40, 0.1, 50.0), 2, seed=settings.seed)
    evaluation = Evaluation(split, settings.k)
    ours_s, ours = best_of(repeat, lambda: evaluation(2, model.user_factors, model.item_factors))
    reference_s, reference = best_of(
        repeat,
        lambda: reference_checkpoint(model.user_factors, model.item_factors, split, settings.k),
    )
    for name in ("patk_train", "patk_test", "mse_train", "mse_test"):
        ours_value = getattr(ours, name)
        assert abs(ours_value - reference[name]) <= 1e-6 * abs(reference[name]), (
            name,
            ours_value,
            reference[name],
        )
    print(
        f"checkpoint on {len(split.users)} test users x {prepared.likes.shape[1]} models, "
        f"best of {repeat}:"
    )
    print(
        f"  reference way {reference_s:8.3f} s   ours {ours_s:6.3f} s   "
        f"ratio {reference_s / ours_s:.0f}x"
    )
    print(f"  metrics agree: {reference}")
    return {
        "test_users": len(split.users),
        "models": prepared.likes.shape[1],
        "reference_seconds": reference_s,
        "ours_seconds": ours_s,
        "ratio": reference_s / ours_s,
        "metrics": reference,
        "simk_cost": bench_simk_cost(split, settings, repeat),
    }


def bench_simk_cost(split, settings, repeat, factors=(10, 40, 120)):
    """Seconds of one checkpoint with and without simk, per number of factors."""
    without = Evaluation(split, settings.k, exponents=(), seed=settings.seed)
    with_simk = Evaluation(
        split, settings.k, settings.sim_k, settings.similarity_exponents, settings.seed
    )
    costs = {}
    for f in factors:
        model = fit(split.train, Params(f, 0.1, 50.0), 2, seed=settings.seed)
        x, y = model.user_factors, model.item_factors
        times = {"without": [], "with": []}
        for _ in range(repeat):  # alternating, so a busy neighbour slows both alike
            for name, evaluation in (("without", without), ("with", with_simk)):
                started = time.perf_counter()
                evaluation(2, x, y)
                times[name].append(time.perf_counter() - started)
        best = {name: min(t) for name, t in times.items()}
        costs[f] = {**best, "ratio": best["with"] / best["without"]}
        print(
            f"  {f} factors: checkpoint without simk {best['without']:.3f} s, "
            f"with simk ({len(settings.similarity_exponents)} exponents) {best['with']:.3f} s: "
            f"{costs[f]['ratio']:.2f}x"
        )
    return costs


def bench_grid(prepared, likes_path, settings, checkpoint):
    out = os.path.join(OUT, "grid.json")
    log_path = os.path.join(OUT, "grid_search.log")
    started = time.perf_counter()
    with open(log_path, "a", encoding="utf-8") as log:
        results = grid_search(
            prepared,
            dataset_summary(likes_path, prepared),
            out,
            grid=Grid(),
            epochs=REFERENCE_EPOCHS,
            settings=settings,
            resume=True,
            progress=True,
            echo=lambda line: print(line, file=log, flush=True),
        )
    wall = time.perf_counter() - started
    curves = results["curves"]
    fit_s = sum(c["fit_seconds"] for c in curves)
    eval_s = sum(c["eval_seconds"] for c in curves)
    checkpoints = sum(len(c["epochs"]) for c in curves)
    reference_estimate = fit_s + checkpoints * checkpoint["reference_seconds"]
    summary = {
        "configurations": len(curves),
        "checkpoints": checkpoints,
        "wall_seconds_this_run": wall,
        "fit_seconds": fit_s,
        "eval_seconds": eval_s,
        "eval_share": eval_s / (fit_s + eval_s),
        "reference_method_estimate_seconds": reference_estimate,
        "best": results["best"],
        "baseline": results["baseline"],
        "diverged": sum("error" in c for c in curves),
    }
    print(f"grid: {len(curves)} configurations, {checkpoints} checkpoints")
    print(
        f"  fit {fit_s / 60:6.1f} min   evaluation {eval_s / 60:5.1f} min "
        f"({100 * summary['eval_share']:.0f}%)   total {(fit_s + eval_s) / 60:.1f} min "
        f"(this run's wall time {wall / 60:.1f} min)"
    )
    print(
        f"  the reference post's method, extrapolated: {reference_estimate / 3600:.1f} h "
        f"({reference_estimate / (fit_s + eval_s):.0f}x ours)"
    )
    print(
        f"  best: {results['best']}   "
        f"popularity p@k test {results['baseline']['popularity_patk_test']:.5f}"
    )
    return summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--likes")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-grid", action="store_true", help="only the checkpoint comparison")
    args = parser.parse_args()
    likes_path = args.likes or reference_scale_demo()
    prepared = prepare(read_likes(likes_path))
    settings = SplitSettings()
    report = {
        "likes": likes_path,
        "users": prepared.after.users,
        "models": prepared.after.models,
        "likes_count": prepared.after.likes,
        "cpus": os.cpu_count(),
        "checkpoint": bench_checkpoint(prepared, settings, args.repeat),
    }
    if not args.skip_grid:
        report["grid"] = bench_grid(prepared, likes_path, settings, report["checkpoint"])
    with open(os.path.join(OUT, "grid_search.json"), "w", encoding="utf-8") as f:
        json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
