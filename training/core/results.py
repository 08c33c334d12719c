"""RESULTS.json, the search's record: write, read and validate (schema in docs/interfaces.md).

Written by ``search`` as it goes; read by ``fit --from-search``, ``plot`` and
the admin pages. Metrics that are NaN (a diverged fit) are ``null``. Curves
hold ``train`` values and the held-out ones the search was scored on,
``validation`` or ``test`` (:func:`held_out`). Files written before
similar-list recall (no ``split.sim_k``, no ``simk`` curves, no
``best_simk``) or before the validation split (no ``split.pick_on``: scored
on test) still read.
"""

import json

from .atomic import write_text
from .errors import BadInput


def fits_folder(path):
    """Where a search writing RESULTS.json at ``path`` keeps its paused fits."""
    return f"{path}.fits"


def write_results(path, results):
    """Write RESULTS.json atomically; strict JSON (NaN is never written)."""
    write_text(path, json.dumps(results, indent=1, allow_nan=False) + "\n")


def read_results(path):
    """Load a RESULTS.json written by :func:`grid_search`; :class:`BadInput` if it is not one."""
    try:
        with open(path, encoding="utf-8") as f:
            results = json.load(f)
    except OSError as e:
        raise BadInput(f"{path}: cannot read: {e.strerror}") from None
    except ValueError as e:
        raise BadInput(f"{path}: not JSON ({e})") from None
    problem = schema_problem(results)
    if problem:
        raise BadInput(f"{path}: not a RESULTS.json written by search: {problem}")
    return results


def held_out(results):
    """Which held-out likes a RESULTS.json's curves and picks were scored on:
    ``"validation"``, or ``"test"`` (also for files from before the validation split)."""
    return results["split"].get("pick_on", "test")


def schema_problem(results):
    """What keeps ``results`` from being a RESULTS.json (docs/interfaces.md), or None."""
    try:
        for key in ("sha256", "users", "models", "likes"):
            results["dataset"][key]
        for key in ("k", "split_count", "fraction", "seed", "test_users"):
            results["split"][key]
        parts = ("train", held_out(results))
        results["baseline"]["popularity_patk_test"]
        for curve in results["curves"]:
            n = len(curve["epochs"])
            for key in ("factors", "regularization", "alpha"):
                curve["params"][key]
            if any(len(curve[metric][part]) != n for metric in ("patk", "mse") for part in parts):
                return "a curve's metrics and epochs differ in length"
        if results["best"] is not None:
            best = results["best"]
            best["params"], best["iterations"], best[f"patk_{parts[1]}"]
        if "search" in results:
            results["search"]["rungs"], results["search"]["sizes"], results["search"]["strategy"]
        if "sim_k" in results["split"]:
            return _simk_problem(results, parts)
    except (KeyError, TypeError, IndexError) as e:
        return f"missing or malformed {e}"
    return None


def _simk_problem(results, parts):
    """What is wrong with the simk parts (present since ``split`` has ``sim_k``), or None."""
    exponents = results["split"]["similarity_exponents"]
    results["baseline"]["popularity_simk_test"]
    for curve in results["curves"]:
        if [s["exponent"] for s in curve["simk"]] != exponents:
            return "a curve's simk exponents differ from the split's similarity_exponents"
        if any(len(s[part]) != len(curve["epochs"]) for s in curve["simk"] for part in parts):
            return "a curve's simk and epochs differ in length"
    best = results["best_simk"]
    if best is not None:
        best["params"], best["iterations"], best["similarity_exponent"], best[f"simk_{parts[1]}"]
    return None
