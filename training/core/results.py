"""RESULTS.json, the grid search's record: write, read and validate (schema in CONTRACT.md).

Written by ``search`` after every configuration; read by ``fit --from-search``,
``plot`` and the admin pages. Metrics that are NaN (a diverged fit) are
``null``. Files written before similar-list recall (no ``split.sim_k``, no
``simk`` curves, no ``best_simk``) still read.
"""

import json

from .atomic import write_text
from .errors import BadInput

PARTS = ("train", "test")


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


def schema_problem(results):
    """What keeps ``results`` from being a RESULTS.json (CONTRACT.md), or None."""
    try:
        for key in ("sha256", "users", "models", "likes"):
            results["dataset"][key]
        for key in ("k", "split_count", "fraction", "seed", "test_users"):
            results["split"][key]
        results["baseline"]["popularity_patk_test"]
        for curve in results["curves"]:
            n = len(curve["epochs"])
            for key in ("factors", "regularization", "alpha"):
                curve["params"][key]
            if any(len(curve[metric][part]) != n for metric in ("patk", "mse") for part in PARTS):
                return "a curve's metrics and epochs differ in length"
        if results["best"] is not None:
            results["best"]["params"], results["best"]["iterations"], results["best"]["patk_test"]
        if "sim_k" in results["split"]:
            return _simk_problem(results)
    except (KeyError, TypeError, IndexError) as e:
        return f"missing or malformed {e}"
    return None


def _simk_problem(results):
    """What is wrong with the simk parts (present since ``split`` has ``sim_k``), or None."""
    exponents = results["split"]["similarity_exponents"]
    results["baseline"]["popularity_simk_test"]
    for curve in results["curves"]:
        if [s["exponent"] for s in curve["simk"]] != exponents:
            return "a curve's simk exponents differ from the split's similarity_exponents"
        if any(len(s[part]) != len(curve["epochs"]) for s in curve["simk"] for part in PARTS):
            return "a curve's simk and epochs differ in length"
    best = results["best_simk"]
    if best is not None:
        best["params"], best["iterations"], best["similarity_exponent"], best["simk_test"]
    return None


def configurations_done(path):
    """How many configurations the RESULTS.json at ``path`` holds so far (0 if none yet)."""
    try:
        with open(path, encoding="utf-8") as f:
            return len(json.load(f)["curves"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0
