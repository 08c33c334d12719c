"""Grid search over WRMF parameters with learning curves, kept in RESULTS.json.

One split (the reference post's), one warm-started fit per configuration evaluated at
every checkpoint epoch, the reference post's log table per configuration. RESULTS.json
(schema in CONTRACT.md, plus per-curve ``fit_seconds``/``eval_seconds`` and
``error`` when ALS diverged) is rewritten atomically after every
configuration, so an interrupted search resumes where it stopped. Metrics that
are NaN (a diverged fit) are written as ``null``.
"""

import itertools
import math
import os
import sys
from dataclasses import asdict, dataclass

from tqdm import tqdm

from . import log_table
from .errors import BadInput
from .evaluation import Evaluation
from .learning_curve import learning_curve
from .params import Params
from .results import read_results, write_results
from .split import split_likes

METRIC_COLUMNS = ["epochs", "p@k train", "p@k test", "mse train", "mse test"]
RANKING_COLUMNS = ["factors", "reg.", "alpha", "iterations", "p@k test"]
SHOWN_RANKS = 10


@dataclass(frozen=True)
class Grid:
    """Values tried for each parameter; every combination is one configuration."""

    factors: tuple = (10, 20, 40, 80, 120)
    regularization: tuple = (0.0, 1e-5, 1e-3, 1e-1, 1e1, 1e2)
    alpha: tuple = (1.0, 10.0, 50.0, 100.0, 500.0, 1000.0)

    def configurations(self):
        """:class:`Params` of every combination, in the reference post's order (alpha fastest)."""
        return [
            Params(f, r, a)
            for f, r, a in itertools.product(self.factors, self.regularization, self.alpha)
        ]


@dataclass(frozen=True)
class SplitSettings:
    """How the likes are split and scored: p@k's k and the reference post's split arguments."""

    k: int = 5
    split_count: int = 5
    fraction: float = 0.2
    seed: int = 0


REFERENCE_EPOCHS = range(2, 40, 2)


def grid_search(
    prepared,
    dataset,
    out,
    grid=Grid(),
    epochs=REFERENCE_EPOCHS,
    settings=SplitSettings(),
    resume=False,
    progress=False,
    echo=tqdm.write,
):
    """Run the search on :class:`training.prepare.Prepared` likes; return the results dict.

    ``dataset`` is :func:`training.prepare.dataset_summary`; ``out`` the RESULTS.json path,
    written after every configuration. With ``resume``, configurations
    already in ``out`` are kept and skipped; ``out`` must come from the same
    likes, split settings and epochs (else :class:`BadInput`). ``echo``
    prints a line; ``progress`` shows a progress bar over the grid on stderr.
    """
    epochs = list(epochs)
    split = split_likes(prepared.likes, settings.split_count, settings.fraction, settings.seed)
    evaluation = Evaluation(split, settings.k)
    results = {
        "dataset": dataset,
        "split": {**asdict(settings), "test_users": len(split.users)},
        "baseline": {"popularity_patk_test": evaluation.popularity_patk()},
        "curves": [],
        "best": None,
    }
    if resume:
        results["curves"] = _resumable_curves(out, results, epochs, echo)
        results["best"] = best_configuration(results["curves"])
    finished = {_key(curve["params"]) for curve in results["curves"]}
    configurations = grid.configurations()
    todo = [p for p in configurations if _key(p.as_dict()) not in finished]
    echo(
        f"Test users: {len(split.users)}; popularity baseline p@{settings.k} test: "
        f"{results['baseline']['popularity_patk_test']:.5f}"
    )
    with tqdm(
        total=len(configurations),
        initial=len(configurations) - len(todo),
        desc="grid",
        unit="config",
        disable=not progress,
        file=sys.stderr,
    ) as bar:
        for params in todo:
            curve = _run_configuration(split, params, epochs, evaluation, settings.seed, echo)
            results["curves"].append(curve_entry(curve, epochs))
            results["best"] = best_configuration(results["curves"])
            write_results(out, results)
            bar.update()
    for line in summary_lines(results):
        echo(line)
    return results


def _run_configuration(split, params, epochs, evaluation, seed, echo):
    echo(
        f"factors: {params.factors} | regularization: {params.regularization:g} | "
        f"alpha: {params.alpha:g}"
    )
    for line in log_table.header_lines(METRIC_COLUMNS):
        echo(line)

    def log(c):
        for line in log_table.row_lines(
            [c.epoch, c.patk_train, c.patk_test, c.mse_train, c.mse_test]
        ):
            echo(line)

    curve = learning_curve(split, params, epochs, evaluation, seed, on_checkpoint=log)
    if curve.error:
        echo(f"ALS diverged {curve.error}; later metrics are NaN")
    return curve


def curve_entry(curve, epochs):
    """A :class:`training.learning_curve.Curve` as a RESULTS.json ``curves`` entry."""
    points = curve.checkpoints
    entry = {
        "params": curve.params.as_dict(),
        "epochs": epochs,
        "patk": {
            "train": [_json_float(c.patk_train) for c in points],
            "test": [_json_float(c.patk_test) for c in points],
        },
        "mse": {
            "train": [_json_float(c.mse_train) for c in points],
            "test": [_json_float(c.mse_test) for c in points],
        },
        "seconds": round(curve.fit_seconds + curve.eval_seconds, 3),
        "fit_seconds": round(curve.fit_seconds, 3),
        "eval_seconds": round(curve.eval_seconds, 3),
    }
    if curve.error:
        entry["error"] = curve.error
    return entry


def best_configuration(curves):
    """``best`` of RESULTS.json: the highest test p@k over all curves and epochs.

    A tie goes to fewer iterations, then to the earlier curve. None when no
    test p@k is a number (every fit diverged).
    """
    best = None
    for curve in curves:
        for epoch, patk in zip(curve["epochs"], curve["patk"]["test"], strict=False):
            if patk is not None and (
                best is None or (patk, -epoch) > (best["patk_test"], -best["iterations"])
            ):
                best = {"params": curve["params"], "iterations": epoch, "patk_test": patk}
    return best


def summary_lines(results):
    """The best configurations (up to :data:`SHOWN_RANKS`) as a log table, then the pick."""
    ranked = sorted(
        filter(None, (best_configuration([c]) for c in results["curves"])),
        key=lambda b: (-b["patk_test"], b["iterations"]),
    )
    if not ranked:
        return ["No configuration gave a finite test p@k."]
    lines = ["Best configurations:"] + log_table.header_lines(RANKING_COLUMNS)
    for b in ranked[:SHOWN_RANKS]:
        p = b["params"]
        lines += log_table.row_lines(
            [
                p["factors"],
                f"{p['regularization']:g}",
                f"{p['alpha']:g}",
                b["iterations"],
                b["patk_test"],
            ]
        )
    best, baseline = results["best"], results["baseline"]["popularity_patk_test"]
    p = best["params"]
    ratio = f" ({best['patk_test'] / baseline:.1f}x)" if baseline > 0 else ""
    lines.append(
        f"Pick: factors {p['factors']}, regularization {p['regularization']:g}, "
        f"alpha {p['alpha']:g}, {best['iterations']} iterations: p@{results['split']['k']} test "
        f"{best['patk_test']:.5f} vs popularity {baseline:.5f}{ratio}"
    )
    return lines


def _resumable_curves(path, fresh, epochs, echo):
    """The curves of an earlier run at ``path`` that this run can continue."""
    if not os.path.exists(path):
        echo(f"Nothing to resume at {path}: starting afresh")
        return []
    earlier = read_results(path)
    same_likes = all(
        earlier["dataset"][key] == fresh["dataset"][key]
        for key in ("sha256", "users", "models", "likes")
    )
    for same, what in (
        (same_likes, "likes or thresholds"),
        (earlier["split"] == fresh["split"], "split settings (k, split count, fraction, seed)"),
        (all(c["epochs"] == epochs for c in earlier["curves"]), "epochs"),
    ):
        if not same:
            raise BadInput(
                f"{path}: cannot resume: it was run with other {what}; "
                "rerun without --resume or with another --out"
            )
    echo(f"Resuming {path}: {len(earlier['curves'])} configurations done")
    return earlier["curves"]


def _key(params):
    return (int(params["factors"]), float(params["regularization"]), float(params["alpha"]))


def _json_float(value):
    return float(value) if math.isfinite(value) else None
