"""RESULTS.json validation: files with simk, files written before it, and broken simk parts."""

import copy
import json

import pytest

from training.core.errors import BadInput
from training.core.results import read_results, schema_problem


def results_with_simk():
    return {
        "dataset": {"path": "x.psv", "sha256": "0", "users": 10, "models": 5, "likes": 40},
        "split": {
            "k": 5,
            "split_count": 5,
            "fraction": 0.2,
            "seed": 0,
            "sim_k": 10,
            "similarity_exponents": [1.0, 0.0],
            "test_users": 2,
        },
        "baseline": {"popularity_patk_test": 0.1, "popularity_simk_test": 0.2},
        "curves": [
            {
                "params": {"factors": 2, "regularization": 0.1, "alpha": 1.0},
                "epochs": [2, 4],
                "patk": {"train": [0.1, 0.2], "test": [0.1, 0.2]},
                "mse": {"train": [0.1, 0.2], "test": [0.1, 0.2]},
                "simk": [
                    {"exponent": 1.0, "train": [0.1, 0.2], "test": [0.1, None]},
                    {"exponent": 0.0, "train": [0.1, 0.2], "test": [0.3, 0.2]},
                ],
            }
        ],
        "best": {"params": {}, "iterations": 4, "patk_test": 0.2},
        "best_simk": {
            "params": {},
            "iterations": 2,
            "similarity_exponent": 0.0,
            "simk_test": 0.3,
            "patk_test": 0.1,
        },
    }


def without_simk(results):
    old = copy.deepcopy(results)
    del old["best_simk"], old["baseline"]["popularity_simk_test"]
    del old["split"]["sim_k"], old["split"]["similarity_exponents"]
    for curve in old["curves"]:
        del curve["simk"]
    return old


def test_files_with_and_without_simk_read(tmp_path):
    for name, results in (("new", results_with_simk()), ("old", without_simk(results_with_simk()))):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(results), encoding="utf-8")
        assert read_results(str(path)) == results


def break_exponents(r):
    r["curves"][0]["simk"].reverse()


def break_length(r):
    r["curves"][0]["simk"][1]["test"].pop()


def drop_curve_simk(r):
    del r["curves"][0]["simk"]


def drop_baseline(r):
    del r["baseline"]["popularity_simk_test"]


def drop_pick_exponent(r):
    del r["best_simk"]["similarity_exponent"]


@pytest.mark.parametrize(
    "damage, problem",
    [
        (break_exponents, "simk exponents differ"),
        (break_length, "simk and epochs differ in length"),
        (drop_curve_simk, "missing or malformed 'simk'"),
        (drop_baseline, "missing or malformed 'popularity_simk_test'"),
        (drop_pick_exponent, "missing or malformed 'similarity_exponent'"),
    ],
)
def test_broken_simk_parts_are_named(tmp_path, damage, problem):
    results = results_with_simk()
    damage(results)
    assert problem in schema_problem(results)
    path = tmp_path / "r.json"
    path.write_text(json.dumps(results), encoding="utf-8")
    with pytest.raises(BadInput, match=f"{path}: not a RESULTS.json written by search"):
        read_results(str(path))
