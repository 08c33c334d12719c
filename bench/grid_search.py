"""Search at the post's scale: one checkpoint evaluated its way and ours, then
successive halving against the full grid.

Usage: ``.venv/bin/python -m bench.grid_search [--likes PATH] [--repeat 3] [--seeds 0,1]
[--runs halving,grid,halving_again] [--skip-checkpoint] [--skip-grid] [--out-dir DIR]``

1. Checkpoint: the post's best configuration (40 factors, regularization 0.1,
   alpha 50) after 2 ALS iterations on the post's split (5 likes of 20% of
   the users), evaluated
   - the post's way, written afresh: for each of the four metrics a dense
     float64 prediction matrix for all users (its ``predict_for_customers``),
     ``argsort`` per test user for p@k, dense rows for the MSE;
   - ours: :class:`training.evaluation.Evaluation` (test users only,
     grouped top-k, closed-form MSE).
   Both compute the same metrics (test p@k without train likes) and
   must agree; reported as best-of-``repeat`` seconds and their ratio.
   Then ours with and without similar-list recall (simk at the default
   exponents 1, 0.5, 0) at 10, 40 and 120 factors, alternating, best of
   ``repeat``: what simk adds to a checkpoint.
2. Strategies: the post's full grid (5 factors x 6 regularizations x 6
   alphas, epochs 2..38) searched with ``training.search.run_search`` as ``python -m
   training search`` runs it, picking by validation simk (``--objective similar``),
   per split seed: successive halving, the full grid, halving again (the two halving
   runs bracket the grid's period of a shared machine). Each: wall time, the pick
   and its test simk and p@5; halving runs also estimate the grid's seconds from
   their own per-configuration rates (same period, same load). Then the ratios and
   whether halving's pick is the grid's. The grid resumes its RESULTS.json if an
   earlier run was interrupted (its seconds are summed over the runs).

Writes ``grid_search.json``, ``halving_vs_grid.json``, each run's RESULTS.json and
log table to ``--out-dir`` (default bench/out).
"""

import argparse
import itertools
import json
import os
import time

import numpy as np

from training.core import halving
from training.core.likes import read_likes
from training.core.params import Params
from training.core.prepare import dataset_summary, prepare
from training.evaluation import Evaluation
from training.search import (
    REFERENCE_EPOCHS,
    Grid,
    SplitSettings,
    best_simk_configuration,
    run_search,
)
from training.split import split_likes
from training.wrmf import fit

from bench.prepare import reference_scale_demo

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")


def reference_checkpoint(user_factors, item_factors, split, k):
    """The four metrics as the post's ``learning_curve`` computed them."""
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
            if exclude is not None:  # test p@k as documented: only models not liked in training
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


def timed_search(prepared, likes_path, settings, strategy, out, log_path):
    """Run one search (resuming ``out`` if an earlier run was interrupted); its results.

    The wall time is RESULTS.json's ``search.seconds``: the seconds of every
    run that worked on it, so an interrupted and resumed search counts once.
    """
    with open(log_path, "a", encoding="utf-8") as log:
        return run_search(
            prepared,
            dataset_summary(likes_path, prepared),
            out,
            grid=Grid(),
            epochs=REFERENCE_EPOCHS,
            settings=settings,
            strategy=strategy,
            resume=True,
            progress=True,
            echo=lambda line: print(line, file=log, flush=True),
        )


def grid_costs(results, checkpoint):
    """Fit and evaluation minutes of a full grid, and the post's method
    extrapolated (our fit time + checkpoints x its checkpoint time) when measured."""
    curves = results["curves"]
    fit_s = sum(c["fit_seconds"] for c in curves)
    eval_s = sum(c["eval_seconds"] for c in curves)
    checkpoints = sum(len(c["epochs"]) for c in curves)
    costs = {
        "checkpoints": checkpoints,
        "fit_seconds": fit_s,
        "eval_seconds": eval_s,
        "eval_share": eval_s / (fit_s + eval_s),
        "diverged": sum("error" in c for c in curves),
    }
    print(
        f"  grid: {len(curves)} configurations, {checkpoints} checkpoints; fit "
        f"{fit_s / 60:.1f} min, evaluation {eval_s / 60:.1f} min "
        f"({100 * eval_s / (fit_s + eval_s):.0f}%)"
    )
    if checkpoint:
        estimate = fit_s + checkpoints * checkpoint["reference_seconds"]
        costs["reference_method_estimate_seconds"] = estimate
        print(f"  the post's method, extrapolated: {estimate / 3600:.1f} h")
    return costs


def grid_estimate(results):
    """Seconds the full grid would take, from a halving run's own per-configuration rates:
    each configuration's ALS seconds per iteration times the last epoch, plus its seconds
    per checkpoint times the grid's checkpoints. Measured in the same period as the
    halving run, so the ratio of the two holds under a shared machine's load."""
    epochs = results["search"]["epochs"]
    return sum(
        c["fit_seconds"] / c["epochs"][-1] * epochs[-1]
        + c["eval_seconds"] / len(c["epochs"]) * len(epochs)
        for c in results["curves"]
    )


def run_summary(results, objective):
    """The objective's pick with its validation and test figures, the run's seconds, what it
    ran and, for halving, the full grid's seconds estimated from its own rates."""
    pick = results["best_simk"] if objective == "similar" else results["best"]
    summary = {
        "seconds": results["search"]["seconds"],
        "pick": pick,
        "stopped": [row["stopped"] for row in halving.rung_rows(results)],
        "configurations_run": len(results["curves"]),
        "epochs_run": sum(c["epochs"][-1] for c in results["curves"]),
    }
    if results["search"]["strategy"] == "halving":
        summary["grid_estimate_seconds"] = grid_estimate(results)
    return summary


def same_pick(a, b):
    """Whether two picks are the same configuration, iterations and exponent."""
    keys = ("params", "iterations", "similarity_exponent")
    return all(a["pick"][k] == b["pick"][k] for k in keys)


RUNS = {  # halving twice, around the grid, so both see the machine's load of that period
    "halving": "halving",
    "grid": "grid",
    "halving_again": "halving",
}


def bench_strategies(prepared, likes_path, seeds, runs, out_dir, checkpoint, objective="similar"):
    """Per split seed, the ``runs`` (names of :data:`RUNS`), each from scratch but the
    grid, which resumes an interrupted run; then their ratios."""
    report = {}
    for seed in seeds:
        settings = SplitSettings(seed=seed)
        done = {}
        for name in runs:
            out = os.path.join(out_dir, f"{name}_seed{seed}.json")
            if name != "grid" and os.path.exists(out):
                os.remove(out)  # timed from scratch
            log_path = os.path.join(out_dir, f"{name}_seed{seed}.log")
            strategy = halving.Strategy(RUNS[name], objective)
            results = timed_search(prepared, likes_path, settings, strategy, out, log_path)
            done[name] = run_summary(results, objective)
            if name == "grid":
                done[name].update(grid_costs(results, checkpoint))
                done[name]["replayed_same_pick"] = replayed_agreement(results)
            pick = done[name]["pick"]
            estimate = done[name].get("grid_estimate_seconds")
            print(
                f"seed {seed} {name}: {done[name]['seconds'] / 60:.1f} min"
                + (f" (the grid estimated {estimate / 60:.1f} min)" if estimate else "")
                + f", pick {pick['params']} {pick['iterations']} it. "
                f"E={pick['similarity_exponent']:g}: test simk {pick['simk_test']:.4f}, "
                f"test p@5 {pick['patk_test']:.4f}"
            )
        report[seed] = {**done, **compare(done)}
        with open(os.path.join(out_dir, "halving_vs_grid.json"), "w", encoding="utf-8") as f:
            json.dump(report, f, indent=1)
    return report


def replayed_pick(grid_results, strategy):
    """Halving's pick replayed on a full grid's curves, without fitting: exact, since a
    halving curve is the grid's curve cut at the rung it reached."""
    curves, part = grid_results["curves"], grid_results["split"]["pick_on"]
    schedule = strategy.schedule(len(curves), grid_results["search"]["epochs"])
    reached, entrants = {id(c): schedule.rungs[0] for c in curves}, curves
    for index, rung in enumerate(schedule.rungs[:-1]):
        size = schedule.sizes[index + 1]
        entrants = halving.promoted(entrants, rung, size, strategy.objective, part)
        reached.update((id(c), schedule.rungs[index + 1]) for c in entrants)
    return best_simk_configuration([_cut(c, reached[id(c)]) for c in curves], part)


def _cut(curve, epoch):
    """A RESULTS.json curve up to ``epoch``."""
    n = curve["epochs"].index(epoch) + 1
    return {
        **curve,
        "epochs": curve["epochs"][:n],
        "patk": {part: values[:n] for part, values in curve["patk"].items()},
        "simk": [
            {key: v[:n] if isinstance(v, list) else v for key, v in series.items()}
            for series in curve["simk"]
        ],
    }


def replayed_agreement(grid_results, etas=(2, 3, 4), first_rungs=(2, 4)):
    """For each eta and first rung: whether halving's pick, replayed, is the grid's."""
    grid_pick = {"pick": grid_results["best_simk"]}
    agreement = {}
    for eta, first in itertools.product(etas, first_rungs):
        pick = replayed_pick(grid_results, halving.Strategy("halving", "similar", eta, first))
        agreement[f"eta {eta}, first rung {first}"] = same_pick({"pick": pick}, grid_pick)
    print(f"  halving replayed on the grid's curves, same pick: {agreement}")
    return agreement


def compare(done):
    """Halving against the grid: wall-time ratio (halving's runs averaged), same pick, and
    the ratios of the picks' test figures; {} without both."""
    halvings = [done[name]["seconds"] for name in ("halving", "halving_again") if name in done]
    if "grid" not in done or not halvings:
        return {}
    grid, pick = done["grid"]["pick"], done["halving"]["pick"]
    ratios = {
        "time_ratio": sum(halvings) / len(halvings) / done["grid"]["seconds"],
        "same_pick": same_pick(done["halving"], done["grid"]),
        "test_simk_ratio": pick["simk_test"] / grid["simk_test"],
        "test_patk_ratio": pick["patk_test"] / grid["patk_test"],
    }
    print(
        f"  halving / grid wall time {ratios['time_ratio']:.3f}; same pick: "
        f"{ratios['same_pick']}; test simk ratio {ratios['test_simk_ratio']:.3f}, "
        f"test p@5 ratio {ratios['test_patk_ratio']:.3f}"
    )
    return ratios


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--likes")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-grid", action="store_true", help="only the checkpoint comparison")
    parser.add_argument("--seeds", default="0,1", help="split seeds to compare the strategies on")
    parser.add_argument("--runs", default=",".join(RUNS), help="which of the runs, in order")
    parser.add_argument(
        "--skip-checkpoint", action="store_true", help="no checkpoint comparison (it takes minutes)"
    )
    parser.add_argument("--out-dir", default=OUT, help="RESULTS.json files, logs, the report")
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    likes_path = args.likes or reference_scale_demo()
    prepared = prepare(read_likes(likes_path))
    settings = SplitSettings()
    report = {
        "likes": likes_path,
        "users": prepared.after.users,
        "models": prepared.after.models,
        "likes_count": prepared.after.likes,
        "cpus": os.cpu_count(),
        "checkpoint": None
        if args.skip_checkpoint
        else bench_checkpoint(prepared, settings, args.repeat),
    }
    if not args.skip_grid:
        seeds = [int(seed) for seed in args.seeds.split(",")]
        runs = args.runs.split(",")
        report["strategies"] = bench_strategies(
            prepared, likes_path, seeds, runs, args.out_dir, report["checkpoint"]
        )
    with open(os.path.join(args.out_dir, "grid_search.json"), "w", encoding="utf-8") as f:
        json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
