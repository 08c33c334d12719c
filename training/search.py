"""Search over WRMF parameters with learning curves, kept in RESULTS.json.

Two strategies (:mod:`training.core.halving`): the full ``grid`` runs every
configuration to the last epoch; successive ``halving`` stops most of them at
early rungs. Either way each configuration is one warm-started fit, evaluated
at every checkpoint epoch it reaches and logged as the post's table.

The configuration and its epoch are picked on a validation split: likes held
out from the training likes by a second split with its own seed. The pick
alone is then refitted on all training likes and scored on the test split,
so its test figure is one measurement, not the largest of many noisy ones.
``pick_on="test"`` keeps the earlier way (curves and pick on the test split),
for figures comparable with older runs.

RESULTS.json (schema in docs/interfaces.md) is rewritten atomically after each
stretch of a fit, so an interrupted search resumes where it stopped; fits
paused at a rung wait in :class:`training.saved_fits.SavedFits`. Metrics
that are NaN (a diverged fit) are written as ``null``.
"""

import itertools
import math
import os
import sys
import time

from tqdm import tqdm

from . import log_table
from .core import halving
from .core.errors import BadInput
from .core.params import Params
from .core.results import fits_folder, held_out, read_results, write_results
from .core.similarity import COSINE
from .core.steps import REFERENCE_EPOCHS, Grid, SplitSettings
from .evaluation import Evaluation
from .learning_curve import learning_curve
from .saved_fits import SavedFits
from .split import split_likes
from .wrmf import WRMF, fit

SHOWN_RANKS = 10
SHORT_PART = {"validation": "val.", "test": "test"}  # fits the log table's 10-character cells


DEFAULT_STRATEGY = halving.Strategy()


class Scoring:
    """The splits of a search: ``test``, and ``scored`` (what curves are fitted on and scored
    by, named ``part``: the validation split, or the test split itself), each with its
    :class:`Evaluation`."""

    def __init__(self, likes, settings):
        self.test = split_likes(likes, settings.split_count, settings.fraction, settings.seed)
        self.test_evaluation = _evaluation(self.test, settings, settings.seed)
        self.part = settings.pick_on
        if self.part == "test":
            self.scored, self.evaluation = self.test, self.test_evaluation
            return
        self.scored = split_likes(
            self.test.train, settings.split_count, settings.fraction, settings.validation_seed
        )
        self.evaluation = _evaluation(self.scored, settings, settings.validation_seed)

    def users(self):
        """RESULTS.json's user counts of the splits."""
        counts = {"test_users": len(self.test.users)}
        if self.part == "validation":
            counts["validation_users"] = len(self.scored.users)
        return counts

    def baseline(self):
        """Popularity's p@k and simk on the test split (and on validation when picking there)."""
        baseline = {}
        for part, evaluation in {"test": self.test_evaluation, self.part: self.evaluation}.items():
            baseline[f"popularity_patk_{part}"] = evaluation.popularity_patk()
            baseline[f"popularity_simk_{part}"] = evaluation.popularity_simk()
        return baseline


def _evaluation(split, settings, seed):
    return Evaluation(split, settings.k, settings.sim_k, settings.similarity_exponents, seed)


def run_search(
    prepared,
    dataset,
    out,
    grid=Grid(),
    epochs=REFERENCE_EPOCHS,
    settings=SplitSettings(),
    strategy=DEFAULT_STRATEGY,
    resume=False,
    progress=False,
    echo=tqdm.write,
):
    """Run the search on :class:`training.core.prepare.Prepared` likes; return the results dict.

    ``dataset`` is :func:`training.core.prepare.dataset_summary`; ``out`` the RESULTS.json
    path, written after every stretch of a fit; ``strategy`` a
    :class:`training.core.halving.Strategy`. With ``resume``, what ``out`` holds
    is kept and not run again; ``out`` must come from the same likes,
    settings, strategy and epochs (else :class:`BadInput`). ``echo`` prints
    a line; ``progress`` shows a progress bar over the schedule's ALS
    iterations on stderr (its ETA holds because the rungs are known ahead).
    """
    epochs = list(epochs)
    configurations = grid.configurations()
    schedule = strategy.schedule(len(configurations), epochs)
    scoring = Scoring(prepared.likes, settings)
    results = {
        "dataset": dataset,
        "split": {**settings.as_dict(), **scoring.users()},
        "search": {**strategy.as_dict(schedule), "epochs": epochs, "seconds": 0.0},
        "baseline": scoring.baseline(),
        "curves": [],
        "best": None,
        "best_simk": None,
    }
    if resume:
        results["curves"], results["search"]["seconds"] = _resumable(out, results, echo)
        _update_bests(results)
    _echo_intro(results, echo)
    run = _Run(results, out, scoring, settings.seed, echo)
    saved = SavedFits(fits_folder(out))
    with tqdm(
        total=schedule.work(),
        initial=sum(c["epochs"][-1] for c in results["curves"]),
        desc=strategy.name,
        unit="epoch",
        disable=not progress,
        file=sys.stderr,
    ) as bar:
        entrants = configurations
        for index, rung in enumerate(schedule.rungs):
            last = index == len(schedule.rungs) - 1
            discarded = set()  # a curve left behind stays behind: discard its fit once
            for params in entrants:
                done = run.continue_to(params, [e for e in epochs if e <= rung], index, saved)
                bar.update(done)
                if not last:
                    for curve in halving.left_behind(results, index):
                        key = halving.params_key(curve["params"])
                        if key not in discarded:
                            discarded.add(key)
                            saved.discard(Params(*key))
            if not last:
                entrants = [Params(**c["params"]) for c in halving.going_on(results, index)]
    if settings.pick_on == "validation":
        run.score_picks_on_test()
    saved.clear()
    for line in summary_lines(results):
        echo(line)
    return results


class _Run:
    """The running search: its results dict, kept on disk, and the fits it continues."""

    def __init__(self, results, out, scoring, seed, echo):
        self.results, self.out, self.scoring = results, out, scoring
        self.seed, self.echo = seed, echo
        self.started = time.perf_counter()
        self.earlier_seconds = results["search"]["seconds"]
        self.halving = len(results["search"]["rungs"]) > 1

    def continue_to(self, params, epochs, rung, saved):
        """Run ``params``'s curve on to the last of ``epochs`` (all checkpoints up to rung
        number ``rung``), unless done already; return the ALS iterations run."""
        entry = self._entry(params)
        done = entry["epochs"][-1] if entry else 0
        due = [e for e in epochs if e > done]
        if not due:
            return 0
        model = self._model(params, done, saved)
        curve = _run_stretch(self, params, due, model, rung)
        stretch = curve_entry(curve, self.scoring.evaluation.exponents, self.scoring.part)
        if entry:
            entry.update(_joined(entry, stretch))
        else:
            self.results["curves"].append(entry := stretch)
        entry["rung"] = rung
        if rung < len(self.results["search"]["rungs"]) - 1:
            saved.save(model)
        else:
            saved.discard(params)
        self._write()
        return due[-1] - done

    def score_picks_on_test(self):
        """Refit each pick's configuration on all training likes (the validation likes back
        in) to its iterations and add its test figures: ``patk_test``, ``simk_test``."""
        picks = [p for p in (self.results["best"], self.results["best_simk"]) if p]
        exponents = self.scoring.test_evaluation.exponents
        by_params = itertools.groupby(picks, key=lambda p: halving.params_key(p["params"]))
        for params, group in by_params:
            group = list(group)
            epochs = sorted({p["iterations"] for p in group})
            curve = learning_curve(
                self.scoring.test,
                Params(*params),
                epochs,
                self.scoring.test_evaluation,
                self.seed,
            )
            for pick in group:
                checkpoint = curve.checkpoints[epochs.index(pick["iterations"])]
                pick["patk_test"] = _json_float(checkpoint.patk_test)
                exponent = exponents.index(pick["similarity_exponent"])
                pick["simk_test"] = _json_float(checkpoint.simk_test[exponent])
        self._write(keep_bests=True)

    def _entry(self, params):
        key = halving.params_key(params.as_dict())
        curves = self.results["curves"]
        return next((c for c in curves if halving.params_key(c["params"]) == key), None)

    def _model(self, params, done, saved):
        """A fit of ``params`` after ``done`` iterations: saved, else fitted again (the same
        factors: ALS here is deterministic)."""
        if done == 0:
            return WRMF(params, self.seed)
        return saved.load(params, done, self.seed) or fit(
            self.scoring.scored.train, params, done, self.seed
        )

    def _write(self, keep_bests=False):
        if not keep_bests:
            _update_bests(self.results)
        elapsed = time.perf_counter() - self.started
        self.results["search"]["seconds"] = round(self.earlier_seconds + elapsed, 3)
        write_results(self.out, self.results)


def _echo_intro(results, echo):
    split, baseline, search = results["split"], results["baseline"], results["search"]
    part = held_out(results)
    echo(
        f"Test users: {split['test_users']}; popularity baseline p@{split['k']} test: "
        f"{baseline['popularity_patk_test']:.5f}, simk@{split['sim_k']} test: "
        f"{baseline['popularity_simk_test']:.5f}"
    )
    if part == "validation":
        echo(
            f"Validation users: {split['validation_users']} (likes held out from the training "
            f"likes, seed {split['validation_seed']}); the curves and the pick are scored "
            "there, the pick alone on test"
        )
    echo(
        f"simk E: share of held-out likes in the {split['sim_k']} models most similar to one "
        "liked model, scored y_i.y_j / (|y_i| |y_j|^E); E = 1 is cosine"
    )
    echo(halving.describe(search, part))


def _run_stretch(run, params, epochs, model, rung):
    part = SHORT_PART[run.scoring.part]
    title = (
        f"factors: {params.factors} | regularization: {params.regularization:g} | "
        f"alpha: {params.alpha:g}"
    )
    if run.halving:
        title += f" | rung {rung + 1}/{len(run.results['search']['rungs'])}: to {epochs[-1]} epochs"
    run.echo(title)
    columns = ["epochs", "p@k train", f"p@k {part}", "mse train", f"mse {part}"]
    simk_columns = [f"simk {e:g}" for e in run.scoring.evaluation.exponents]
    for line in log_table.header_lines(columns + simk_columns):
        run.echo(line)

    def log(c):
        cells = [c.epoch, c.patk_train, c.patk_test, c.mse_train, c.mse_test, *c.simk_test]
        for line in log_table.row_lines(cells):
            run.echo(line)

    curve = learning_curve(
        run.scoring.scored, params, epochs, run.scoring.evaluation, on_checkpoint=log, model=model
    )
    if curve.error:
        run.echo(f"ALS diverged {curve.error}; later metrics are NaN")
    return curve


def curve_entry(curve, exponents, part="test"):
    """A :class:`training.learning_curve.Curve` as a RESULTS.json ``curves`` entry.

    ``exponents`` are the similarity exponents of the checkpoints' simk values;
    ``part`` names the held-out values (``validation`` or ``test``).
    """
    points = curve.checkpoints
    entry = {
        "params": curve.params.as_dict(),
        "epochs": [c.epoch for c in points],
        "patk": {
            "train": [_json_float(c.patk_train) for c in points],
            part: [_json_float(c.patk_test) for c in points],
        },
        "mse": {
            "train": [_json_float(c.mse_train) for c in points],
            part: [_json_float(c.mse_test) for c in points],
        },
        "simk": [
            {
                "exponent": float(e),
                "train": [_json_float(c.simk_train[i]) for c in points],
                part: [_json_float(c.simk_test[i]) for c in points],
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


def _joined(entry, more):
    """A curve entry followed by ``more``, the next stretch of the same fit."""

    def series(a, b):
        return {key: a[key] + b[key] if isinstance(a[key], list) else a[key] for key in a}

    joined = {
        **entry,
        "epochs": entry["epochs"] + more["epochs"],
        "patk": series(entry["patk"], more["patk"]),
        "mse": series(entry["mse"], more["mse"]),
        "simk": [series(a, b) for a, b in zip(entry["simk"], more["simk"], strict=True)],
    }
    for key in ("seconds", "fit_seconds", "eval_seconds"):
        joined[key] = round(entry[key] + more[key], 3)
    if "error" in more and "error" not in entry:
        joined["error"] = more["error"]
    return joined


def _update_bests(results):
    part = held_out(results)
    results["best"] = best_configuration(results["curves"], part)
    results["best_simk"] = best_simk_configuration(results["curves"], part)


def best_configuration(curves, part="test"):
    """``best`` of RESULTS.json: the highest ``part`` p@k over all curves and epochs.

    ``{"params", "iterations", "patk_<part>"}``. A tie goes to fewer
    iterations, then to the earlier curve. None when no such p@k is a number
    (every fit diverged). Curves with simk add the exponent its similar lists
    would use (cosine when measured, else the best measured there) as
    ``similarity_exponent`` and their ``simk_<part>``.
    """
    best, patk = None, f"patk_{part}"
    for curve in curves:
        for index, (epoch, value) in enumerate(
            zip(curve["epochs"], curve["patk"][part], strict=False)
        ):
            if value is not None and (
                best is None or (value, -epoch) > (best[patk], -best["iterations"])
            ):
                best = {"params": curve["params"], "iterations": epoch, patk: value}
                best.update(_lists_of_patk_pick(curve, index, part))
    return best


def _lists_of_patk_pick(curve, index, part):
    """``similarity_exponent`` and ``simk_<part>`` of a p@k pick's lists ({} without simk)."""
    measured = [(s["exponent"], s[part][index]) for s in curve.get("simk", [])]
    if not measured:
        return {}
    cosine = [pair for pair in measured if pair[0] == COSINE]
    exponent, simk = cosine[0] if cosine else max(measured, key=_finite_or_lowest)
    return {"similarity_exponent": exponent, f"simk_{part}": simk}


def _finite_or_lowest(pair):
    return -math.inf if pair[1] is None else pair[1]


def best_simk_configuration(curves, part="test"):
    """``best_simk`` of RESULTS.json: the highest ``part`` simk over curves, epochs and exponents.

    ``{"params", "iterations", "similarity_exponent", "simk_<part>",
    "patk_<part>"}``. A tie goes to fewer iterations, then to the exponent
    nearer cosine, then to the earlier curve. None when no curve has a finite
    simk (or none has simk: a RESULTS.json written before it existed).
    """
    best, best_key = None, None
    for curve in curves:
        for series in curve.get("simk", []):
            exponent = series["exponent"]
            for index, (epoch, simk) in enumerate(zip(curve["epochs"], series[part], strict=False)):
                key = (simk, -epoch, -abs(exponent - COSINE))
                if simk is not None and (best is None or key > best_key):
                    best_key = key
                    best = {
                        "params": curve["params"],
                        "iterations": epoch,
                        "similarity_exponent": exponent,
                        f"simk_{part}": simk,
                        f"patk_{part}": curve["patk"][part][index],
                    }
    return best


def summary_lines(results):
    """What the search did (strategy, time, where configurations stopped), the best
    configurations by p@k and by simk (up to :data:`SHOWN_RANKS` each) as log tables,
    then the two picks."""
    part = held_out(results)
    short = SHORT_PART[part]
    lines = halving.report_lines(results)
    ranked = sorted(
        filter(None, (best_configuration([c], part) for c in results["curves"])),
        key=lambda b: (-b[f"patk_{part}"], b["iterations"]),
    )
    if not ranked:
        return lines + [f"No configuration gave a finite {part} p@k."]
    lines += ["Best configurations by p@k:"] + log_table.header_lines(
        ["factors", "reg.", "alpha", "iterations", f"p@k {short}"]
    )
    for b in ranked[:SHOWN_RANKS]:
        lines += log_table.row_lines([*_param_cells(b), b[f"patk_{part}"]])
    ranked_simk = sorted(
        filter(None, (best_simk_configuration([c], part) for c in results["curves"])),
        key=lambda b: (-b[f"simk_{part}"], b["iterations"]),
    )
    if ranked_simk:
        lines += ["Best configurations by simk:"] + log_table.header_lines(
            ["factors", "reg.", "alpha", "iterations", "exponent", f"simk {short}"]
        )
        for b in ranked_simk[:SHOWN_RANKS]:
            cells = [*_param_cells(b), f"{b['similarity_exponent']:g}", b[f"simk_{part}"]]
            lines += log_table.row_lines(cells)
    return lines + pick_lines(results)


def pick_lines(results):
    """One line per pick: best p@k (the post's), and best simk when measured;
    with the validation figures it was chosen by, when picked on validation."""
    best, baseline, split = results["best"], results["baseline"], results["split"]
    chosen = _chosen_by(best, "patk", f"p@{split['k']}", results)
    patk_line = (
        f"Pick by p@k: {_describe(best)}: {chosen}p@{split['k']} test "
        f"{_figure(best.get('patk_test'))} vs popularity "
        f"{_versus(best.get('patk_test'), baseline['popularity_patk_test'])}"
    )
    best_simk = results.get("best_simk")
    if "similarity_exponent" in best:
        patk_line += (
            f"; its lists (exponent {best['similarity_exponent']:g}) simk@{split['sim_k']} "
            f"test {_figure(best.get('simk_test'))}"
        )
    if not best_simk:
        return [patk_line]
    simk = best_simk.get("simk_test")
    chosen = _chosen_by(best_simk, "simk", f"simk@{split['sim_k']}", results)
    simk_line = (
        f"Pick by simk: {_describe(best_simk)}, exponent {best_simk['similarity_exponent']:g}: "
        f"{chosen}simk@{split['sim_k']} test {_figure(simk)} vs popularity "
        f"{_versus(simk, baseline['popularity_simk_test'])}"
    )
    if best.get("simk_test") is not None and simk is not None:
        simk_line += f", vs the p@k pick's lists {_versus(simk, best['simk_test'])}"
    if best_simk["similarity_exponent"] == COSINE:
        simk_line += "; cosine is best"
    return [patk_line, simk_line]


def _chosen_by(pick, metric, name, results):
    """ "chosen on validation p@5 0.12345 (popularity 0.01234); " when picked there, else ""."""
    if held_out(results) != "validation":
        return ""
    value = pick[f"{metric}_validation"]
    popularity = results["baseline"][f"popularity_{metric}_validation"]
    return f"chosen on validation {name} {value:.5f} (popularity {popularity:.5f}); "


def _figure(value):
    return "not measured" if value is None else f"{value:.5f}"


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
    ratio = f" ({value / reference:.1f}x)" if value is not None and reference else ""
    return f"{reference:.5f}{ratio}"


def _resumable(path, fresh, echo):
    """``(curves, seconds)`` of an earlier run at ``path`` that this run can continue."""
    if not os.path.exists(path):
        echo(f"Nothing to resume at {path}: starting afresh")
        return [], 0.0
    earlier = read_results(path)
    same_likes = all(
        earlier["dataset"][key] == fresh["dataset"][key]
        for key in ("sha256", "users", "models", "likes")
    )
    earlier_search = {k: v for k, v in earlier.get("search", {}).items() if k != "seconds"}
    fresh_search = {k: v for k, v in fresh["search"].items() if k != "seconds"}
    same_epochs = earlier_search.pop("epochs", None) == fresh_search.pop("epochs")
    for same, what in (
        (same_likes, "likes or thresholds"),
        (
            earlier["split"] == fresh["split"],
            "split settings (k, split count, fraction, seed, sim k, similarity exponents, "
            "pick on, validation seed)",
        ),
        (same_epochs, "epochs"),
        (earlier_search == fresh_search, "search strategy (strategy, objective, eta, rungs)"),
    ):
        if not same:
            raise BadInput(
                f"{path}: cannot resume: it was run with other {what}; "
                "rerun without --resume or with another --out"
            )
    echo(f"Resuming {path}: {len(earlier['curves'])} configurations done")
    return earlier["curves"], earlier["search"]["seconds"]


def _json_float(value):
    return float(value) if math.isfinite(value) else None
