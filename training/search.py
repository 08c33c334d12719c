"""Grid search over WRMF parameters with learning curves, kept in RESULTS.json.

One split (the reference post's), one warm-started fit per configuration evaluated at
every checkpoint epoch, the reference post's log table per configuration. RESULTS.json
(schema in CONTRACT.md, plus per-curve ``fit_seconds``/``eval_seconds`` and
``error`` when ALS diverged) is rewritten atomically after every
configuration, so an interrupted search resumes where it stopped. Metrics that
are NaN (a diverged fit) are written as ``null``.
"""

import math
import os
import sys

from tqdm import tqdm

from . import log_table
from .core.errors import BadInput
from .core.results import read_results, write_results
from .core.similarity import COSINE
from .core.steps import REFERENCE_EPOCHS, Grid, SplitSettings
from .evaluation import Evaluation
from .learning_curve import learning_curve
from .split import split_likes

METRIC_COLUMNS = ["epochs", "p@k train", "p@k test", "mse train", "mse test"]
RANKING_COLUMNS = ["factors", "reg.", "alpha", "iterations", "p@k test"]
SIMK_RANKING_COLUMNS = ["factors", "reg.", "alpha", "iterations", "exponent", "simk test"]
SHOWN_RANKS = 10


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
    """Run the search on :class:`training.core.prepare.Prepared` likes; return the results dict.

    ``dataset`` is :func:`training.core.prepare.dataset_summary`; ``out`` the RESULTS.json path,
    written after every configuration. With ``resume``, configurations
    already in ``out`` are kept and skipped; ``out`` must come from the same
    likes, split settings and epochs (else :class:`BadInput`). ``echo``
    prints a line; ``progress`` shows a progress bar over the grid on stderr.
    """
    epochs = list(epochs)
    split = split_likes(prepared.likes, settings.split_count, settings.fraction, settings.seed)
    evaluation = Evaluation(
        split, settings.k, settings.sim_k, settings.similarity_exponents, settings.seed
    )
    results = {
        "dataset": dataset,
        "split": {**settings.as_dict(), "test_users": len(split.users)},
        "baseline": {
            "popularity_patk_test": evaluation.popularity_patk(),
            "popularity_simk_test": evaluation.popularity_simk(),
        },
        "curves": [],
        "best": None,
        "best_simk": None,
    }
    if resume:
        results["curves"] = _resumable_curves(out, results, epochs, echo)
        _update_bests(results)
    finished = {_key(curve["params"]) for curve in results["curves"]}
    configurations = grid.configurations()
    todo = [p for p in configurations if _key(p.as_dict()) not in finished]
    baseline = results["baseline"]
    echo(
        f"Test users: {len(split.users)}; popularity baseline p@{settings.k} test: "
        f"{baseline['popularity_patk_test']:.5f}, simk@{settings.sim_k} test: "
        f"{baseline['popularity_simk_test']:.5f}"
    )
    echo(
        f"simk E: share of held-out likes in the {settings.sim_k} models most similar to one "
        "liked model, scored y_i.y_j / (|y_i| |y_j|^E); E = 1 is cosine"
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
            results["curves"].append(curve_entry(curve, epochs, evaluation.exponents))
            _update_bests(results)
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
    simk_columns = [f"simk {e:g}" for e in evaluation.exponents]
    for line in log_table.header_lines(METRIC_COLUMNS + simk_columns):
        echo(line)

    def log(c):
        cells = [c.epoch, c.patk_train, c.patk_test, c.mse_train, c.mse_test, *c.simk_test]
        for line in log_table.row_lines(cells):
            echo(line)

    curve = learning_curve(split, params, epochs, evaluation, seed, on_checkpoint=log)
    if curve.error:
        echo(f"ALS diverged {curve.error}; later metrics are NaN")
    return curve


def curve_entry(curve, epochs, exponents):
    """A :class:`training.learning_curve.Curve` as a RESULTS.json ``curves`` entry.

    ``exponents`` are the similarity exponents of the checkpoints' simk values.
    """
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
        "simk": [
            {
                "exponent": float(e),
                "train": [_json_float(c.simk_train[i]) for c in points],
                "test": [_json_float(c.simk_test[i]) for c in points],
            }
            for i, e in enumerate(exponents)
        ],
        "seconds": round(curve.fit_seconds + curve.eval_seconds, 3),
        "fit_seconds": round(curve.fit_seconds, 3),
        "eval_seconds": round(curve.eval_seconds, 3),
    }
    if curve.error:
        entry["error"] = curve.error
    return entry


def _update_bests(results):
    results["best"] = best_configuration(results["curves"])
    results["best_simk"] = best_simk_configuration(results["curves"])


def best_configuration(curves):
    """``best`` of RESULTS.json: the highest test p@k over all curves and epochs.

    A tie goes to fewer iterations, then to the earlier curve. None when no
    test p@k is a number (every fit diverged). Curves with simk add the
    exponent its similar lists would use (cosine when measured, else the best
    measured there) as ``similarity_exponent`` and their ``simk_test``.
    """
    best = None
    for curve in curves:
        for index, (epoch, patk) in enumerate(
            zip(curve["epochs"], curve["patk"]["test"], strict=False)
        ):
            if patk is not None and (
                best is None or (patk, -epoch) > (best["patk_test"], -best["iterations"])
            ):
                best = {"params": curve["params"], "iterations": epoch, "patk_test": patk}
                best.update(_lists_of_patk_pick(curve, index))
    return best


def _lists_of_patk_pick(curve, index):
    """``similarity_exponent`` and ``simk_test`` of a p@k pick's lists ({} without simk)."""
    measured = [(s["exponent"], s["test"][index]) for s in curve.get("simk", [])]
    if not measured:
        return {}
    cosine = [pair for pair in measured if pair[0] == COSINE]
    exponent, simk = cosine[0] if cosine else max(measured, key=_finite_or_lowest)
    return {"similarity_exponent": exponent, "simk_test": simk}


def _finite_or_lowest(pair):
    return -math.inf if pair[1] is None else pair[1]


def best_simk_configuration(curves):
    """``best_simk`` of RESULTS.json: the highest test simk over curves, epochs and exponents.

    ``{"params", "iterations", "similarity_exponent", "simk_test",
    "patk_test"}``. A tie goes to fewer iterations, then to the exponent
    nearer cosine, then to the earlier curve. None when no curve has a finite
    simk (or none has simk: a RESULTS.json written before it existed).
    """
    best, best_key = None, None
    for curve in curves:
        for series in curve.get("simk", []):
            exponent = series["exponent"]
            for index, (epoch, simk) in enumerate(
                zip(curve["epochs"], series["test"], strict=False)
            ):
                key = (simk, -epoch, -abs(exponent - COSINE))
                if simk is not None and (best is None or key > best_key):
                    best_key = key
                    best = {
                        "params": curve["params"],
                        "iterations": epoch,
                        "similarity_exponent": exponent,
                        "simk_test": simk,
                        "patk_test": curve["patk"]["test"][index],
                    }
    return best


def summary_lines(results):
    """The best configurations by p@k and by simk (up to :data:`SHOWN_RANKS` each) as log
    tables, then the two picks."""
    ranked = sorted(
        filter(None, (best_configuration([c]) for c in results["curves"])),
        key=lambda b: (-b["patk_test"], b["iterations"]),
    )
    if not ranked:
        return ["No configuration gave a finite test p@k."]
    lines = ["Best configurations by p@k:"] + log_table.header_lines(RANKING_COLUMNS)
    for b in ranked[:SHOWN_RANKS]:
        lines += log_table.row_lines([*_param_cells(b), b["patk_test"]])
    ranked_simk = sorted(
        filter(None, (best_simk_configuration([c]) for c in results["curves"])),
        key=lambda b: (-b["simk_test"], b["iterations"]),
    )
    if ranked_simk:
        lines += ["Best configurations by simk:"] + log_table.header_lines(SIMK_RANKING_COLUMNS)
        for b in ranked_simk[:SHOWN_RANKS]:
            cells = [*_param_cells(b), f"{b['similarity_exponent']:g}", b["simk_test"]]
            lines += log_table.row_lines(cells)
    return lines + pick_lines(results)


def pick_lines(results):
    """One line per pick: best p@k (the reference post's), and best simk when measured."""
    best, baseline, split = results["best"], results["baseline"], results["split"]
    patk_line = (
        f"Pick by p@k: {_describe(best)}: p@{split['k']} test {best['patk_test']:.5f} vs "
        f"popularity {_versus(best['patk_test'], baseline['popularity_patk_test'])}"
    )
    best_simk = results.get("best_simk")
    if "simk_test" in best:
        patk_line += (
            f"; its lists (exponent {best['similarity_exponent']:g}) simk@{split['sim_k']} "
            f"test {best['simk_test']:.5f}"
        )
    if not best_simk:
        return [patk_line]
    simk = best_simk["simk_test"]
    simk_line = (
        f"Pick by simk: {_describe(best_simk)}, exponent {best_simk['similarity_exponent']:g}: "
        f"simk@{split['sim_k']} test {simk:.5f} vs popularity "
        f"{_versus(simk, baseline['popularity_simk_test'])}"
    )
    if best.get("simk_test") is not None:
        simk_line += f", vs the p@k pick's lists {_versus(simk, best['simk_test'])}"
    if best_simk["similarity_exponent"] == COSINE:
        simk_line += "; cosine is best"
    return [patk_line, simk_line]


def _param_cells(b):
    p = b["params"]
    return [p["factors"], f"{p['regularization']:g}", f"{p['alpha']:g}", b["iterations"]]


def _describe(b):
    p = b["params"]
    return (
        f"factors {p['factors']}, regularization {p['regularization']:g}, "
        f"alpha {p['alpha']:g}, {b['iterations']} iterations"
    )


def _versus(value, reference):
    """``reference`` with the ratio of ``value`` to it, as "0.01234 (2.1x)"."""
    ratio = f" ({value / reference:.1f}x)" if reference and reference > 0 else ""
    return f"{reference:.5f}{ratio}"


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
        (
            earlier["split"] == fresh["split"],
            "split settings (k, split count, fraction, seed, sim k, similarity exponents)",
        ),
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
