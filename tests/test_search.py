"""The full grid: RESULTS.json schema, the picks on validation, the demo beating popularity,
--resume, the CLI."""

import json
import signal
import time

import numpy as np
import pytest
from implicit.recommender_base import ModelFitError

from training import wrmf
from training.core.artifact import load_model
from training.core.halving import Strategy
from training.core.likes import file_sha256, read_likes
from training.core.params import Params
from training.core.prepare import dataset_summary, prepare
from training.search import (
    Grid,
    SplitSettings,
    best_configuration,
    best_simk_configuration,
    run_search,
)

from tests.training_helpers import SMALL_EPOCHS, run_training, spawn_training

pytestmark = pytest.mark.slow

CLI_GRID = [
    *("--factors", "8,16", "--regularization", "0.1", "--alpha", "10,40", "--epochs", "2:8:2"),
    *("--strategy", "grid"),
]


def strict_json(path):
    """Parse JSON refusing NaN and Infinity, which are not JSON."""

    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    with open(path, encoding="utf-8") as f:
        return json.load(f, parse_constant=refuse)


def test_results_follow_the_documented_schema(demo_search, demo_likes):
    path, results = demo_search
    on_disk = strict_json(path)
    assert on_disk == results
    assert set(on_disk) >= {"dataset", "split", "baseline", "curves", "best"}
    dataset = on_disk["dataset"]
    assert dataset["sha256"] == file_sha256(str(demo_likes))
    assert all(
        isinstance(dataset[key], int) for key in ("users", "models", "likes", "duplicates_dropped")
    )
    assert isinstance(dataset["path"], str)
    assert on_disk["split"] == {
        "k": 5,
        "split_count": 5,
        "fraction": 0.2,
        "seed": 0,
        "sim_k": 10,
        "similarity_exponents": [1.0, 0.5, 0.0],
        "pick_on": "validation",
        "validation_seed": 1,
        "test_users": int(0.2 * dataset["users"]),
        "validation_users": int(0.2 * dataset["users"]),
    }
    search = on_disk["search"]
    assert search["strategy"] == "grid" and search["objective"] == "similar"
    assert (search["rungs"], search["sizes"], search["epochs"]) == ([10], [8], [2, 4, 6, 8, 10])
    assert search["seconds"] > 0
    for part in ("test", "validation"):
        assert isinstance(on_disk["baseline"][f"popularity_patk_{part}"], float)
        assert 0 < on_disk["baseline"][f"popularity_simk_{part}"] < 1
    assert len(on_disk["curves"]) == 8
    params = [
        (c["params"]["factors"], c["params"]["regularization"], c["params"]["alpha"])
        for c in on_disk["curves"]
    ]
    assert params == [(f, r, a) for f in (20, 40) for r in (0.1, 10.0) for a in (10.0, 50.0)]
    for curve in on_disk["curves"]:
        assert isinstance(curve["params"]["factors"], int)
        assert curve["epochs"] == [2, 4, 6, 8, 10] and curve["rung"] == 0
        for metric in ("patk", "mse"):
            assert set(curve[metric]) == {"train", "validation"}
            for part in ("train", "validation"):
                values = curve[metric][part]
                assert len(values) == 5 and all(isinstance(v, float) for v in values)
        assert all(0 <= v <= 1 for v in curve["patk"]["train"] + curve["patk"]["validation"])
        assert [s["exponent"] for s in curve["simk"]] == [1.0, 0.5, 0.0]
        for series in curve["simk"]:
            for part in ("train", "validation"):
                values = series[part]
                assert len(values) == 5 and all(0 <= v <= 1 for v in values)
        assert curve["seconds"] == pytest.approx(
            curve["fit_seconds"] + curve["eval_seconds"], abs=0.002
        )
    picked = {"params", "iterations", "similarity_exponent", "patk_validation", "simk_validation"}
    best = on_disk["best"]
    assert set(best) == picked | {"patk_test", "simk_test"}
    assert best["iterations"] in SMALL_EPOCHS and best["similarity_exponent"] == 1.0
    assert set(on_disk["best_simk"]) == picked | {"patk_test", "simk_test"}
    assert not (path.parent / f"{path.name}.fits").exists()


def test_best_simk_is_the_highest_validation_simk_and_beats_popularity(demo_search):
    _, results = demo_search
    best = results["best_simk"]
    cells = [
        (v, c["params"], e, s["exponent"], c["patk"]["validation"][i])
        for c in results["curves"]
        for s in c["simk"]
        for i, (e, v) in enumerate(zip(c["epochs"], s["validation"], strict=True))
    ]
    highest = max(cells, key=lambda cell: cell[0])
    assert best["simk_validation"] == highest[0]
    assert (best["params"], best["iterations"], best["similarity_exponent"]) == highest[1:4]
    assert best["patk_validation"] == highest[4]
    assert best["simk_test"] > results["baseline"]["popularity_simk_test"]
    # The p@k pick's lists are cosine's at its checkpoint.
    pick = results["best"]
    curve = next(c for c in results["curves"] if c["params"] == pick["params"])
    index = curve["epochs"].index(pick["iterations"])
    assert pick["simk_validation"] == curve["simk"][0]["validation"][index]


def test_best_is_the_highest_validation_patk(demo_search):
    _, results = demo_search
    highest = max(max(c["patk"]["validation"]) for c in results["curves"])
    assert results["best"]["patk_validation"] == highest
    curve = next(c for c in results["curves"] if c["params"] == results["best"]["params"])
    index = curve["epochs"].index(results["best"]["iterations"])
    assert curve["patk"]["validation"][index] == highest


def test_on_the_demo_the_best_beats_popularity_twice(demo_search):
    _, results = demo_search
    assert results["best"]["patk_test"] >= 2 * results["baseline"]["popularity_patk_test"]


def curve(factors, epochs, test):
    return {
        "params": {"factors": factors, "regularization": 0.1, "alpha": 1.0},
        "epochs": epochs,
        "patk": {"train": test, "test": test},
        "mse": {"train": test, "test": test},
    }


def simk_curve(factors, epochs, by_exponent):
    return {
        **curve(factors, epochs, [0.1] * len(epochs)),
        "simk": [{"exponent": e, "train": v, "test": v} for e, v in by_exponent.items()],
    }


def test_best_simk_ties_go_to_fewer_iterations_then_nearer_cosine():
    curves = [
        simk_curve(10, [2, 4], {1.0: [0.1, 0.2], 0.5: [0.2, None], 0.0: [0.2, 0.1]}),
        simk_curve(20, [2, 4], {1.0: [0.1, 0.1], 0.5: [0.1, 0.2], 0.0: [None, 0.1]}),
    ]
    # 0.2 four times: fewer iterations first (2 of them), then nearer cosine (0.5).
    best = best_simk_configuration(curves)
    assert (best["params"]["factors"], best["iterations"], best["similarity_exponent"]) == (
        10,
        2,
        0.5,
    )
    assert best_simk_configuration([curve(10, [2], [0.1])]) is None  # written before simk
    # Without cosine measured, the p@k pick's lists take the best exponent there.
    no_cosine = [simk_curve(10, [2], {0.5: [0.1], 0.0: [0.3]})]
    assert best_configuration(no_cosine)["similarity_exponent"] == 0.0


def test_best_ties_go_to_fewer_iterations_then_the_earlier_curve():
    curves = [
        curve(10, [2, 4, 6], [0.1, 0.3, 0.3]),
        curve(20, [2, 4, 6], [None, 0.2, 0.3]),
        curve(30, [2, 4, 6], [0.1, 0.3, None]),
    ]
    assert best_configuration(curves) == {
        "params": curves[0]["params"],
        "iterations": 4,
        "patk_test": 0.3,
    }
    assert best_configuration([curve(10, [2], [None])]) is None


def test_a_diverged_fit_is_recorded_and_the_grid_goes_on(demo_likes, tmp_path, monkeypatch):
    real_train = wrmf.WRMF.train

    def train(self, likes, iterations, confidence_matrix=None):
        if self.params.factors == 20 and self.iterations >= 4:
            raise ModelFitError("NaN encountered in factors")
        return real_train(self, likes, iterations, confidence_matrix)

    monkeypatch.setattr(wrmf.WRMF, "train", train)
    prepared = prepare(read_likes(str(demo_likes)))
    path = tmp_path / "grid.json"
    lines = []
    results = run_search(
        prepared,
        dataset_summary(str(demo_likes), prepared),
        str(path),
        grid=Grid(factors=(20, 30), regularization=(0.1,), alpha=(10.0,)),
        epochs=range(2, 9, 2),
        strategy=Strategy("grid"),
        echo=lines.append,
    )
    diverged, fine = strict_json(path)["curves"]
    assert diverged["patk"]["validation"][:2] == results["curves"][0]["patk"]["validation"][:2]
    assert diverged["patk"]["validation"][2:] == [None, None]
    assert diverged["mse"]["train"][2:] == [None, None]
    assert "after 4 iterations" in diverged["error"]
    assert None not in fine["patk"]["validation"] and "error" not in fine
    assert any("ALS diverged" in line for line in lines)
    assert any("|    nan     |" in line for line in lines)


def test_cli_prints_the_reference_table_and_fit_uses_the_best(small_likes, tmp_path):
    out = tmp_path / "runs" / "grid.json"
    done = run_training("search", small_likes, "--out", out, *CLI_GRID)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    header = (
        "|   epochs   | p@k train  |  p@k val.  | mse train  |  mse val.  "
        "|   simk 1   |  simk 0.5  |   simk 0   |"
    )
    assert lines.count(header) == 4
    assert "factors: 16 | regularization: 0.1 | alpha: 40" in lines
    assert "+============" * 8 + "+" in lines
    assert sum(line.startswith("|     6      |") for line in lines) == 4
    assert any(line.startswith("Pick by p@k: factors ") for line in lines)
    assert any(line.startswith("Pick by simk: factors ") for line in lines)
    assert any(line.startswith("Full grid: 4 configurations to 6 epochs; ") for line in lines)
    results = strict_json(out)

    for objective, pick in (("similar", results["best_simk"]), ("patk", results["best"])):
        model_path = tmp_path / f"{objective}.npz"
        fitted = run_training(
            "fit", small_likes, "--out", model_path, "--from-search", out, "--objective", objective
        )
        assert fitted.returncode == 0, fitted.stderr
        meta = load_model(str(model_path)).meta
        assert meta["params"] == {**pick["params"], "iterations": pick["iterations"]}
        assert meta["similarity_exponent"] == pick["similarity_exponent"]
        assert meta["search"]["objective"] == objective
        assert meta["search"]["best"] == pick
        assert meta["search"]["baseline"] == results["baseline"]
    default = tmp_path / "default.npz"
    assert run_training("fit", small_likes, "--out", default, "--from-search", out).returncode == 0
    assert load_model(str(default)).meta["search"]["objective"] == "similar"


def test_fit_by_simk_from_a_search_without_simk_exits_2(small_likes, tmp_path):
    out = tmp_path / "grid.json"
    assert run_training("search", small_likes, "--out", out, *CLI_GRID).returncode == 0
    old = strict_json(out)
    del old["best_simk"], old["baseline"]["popularity_simk_test"]
    for key in ("sim_k", "similarity_exponents"):
        del old["split"][key]
    for c in old["curves"]:
        del c["simk"]
    out.write_text(json.dumps(old), encoding="utf-8")
    model = tmp_path / "model.npz"
    done = run_training("fit", small_likes, "--out", model, "--from-search", out)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "no similar-list recall (simk)" in done.stderr and not model.exists()
    by_patk = run_training(
        "fit", small_likes, "--out", model, "--from-search", out, "--objective", "patk"
    )
    assert by_patk.returncode == 0, by_patk.stderr
    assert load_model(str(model)).meta["similarity_exponent"] == 1.0


def test_resume_skips_finished_configurations_and_gives_the_same_results(small_likes, tmp_path):
    full = tmp_path / "full.json"
    assert run_training("search", small_likes, "--out", full, *CLI_GRID).returncode == 0
    complete = strict_json(full)

    # An interruption after the first two configurations leaves them on disk.
    partial = tmp_path / "partial.json"
    interrupted = dict(complete, curves=complete["curves"][:2], best=None)
    partial.write_text(json.dumps(interrupted), encoding="utf-8")
    resumed = run_training("search", small_likes, "--out", partial, "--resume", *CLI_GRID)
    assert resumed.returncode == 0, resumed.stderr
    assert f"Resuming {partial}: 2 configurations done" in resumed.stdout
    assert resumed.stdout.count("factors: ") == 2  # only the two missing ones ran
    after = strict_json(partial)
    assert after["curves"][:2] == complete["curves"][:2]  # kept as they were, seconds included
    strip = [{k: v for k, v in c.items() if not k.endswith("seconds")} for c in after["curves"]]
    assert strip == [
        {k: v for k, v in c.items() if not k.endswith("seconds")} for c in complete["curves"]
    ]
    assert after["best"] == complete["best"]


def test_resume_after_a_real_interrupt(small_likes, tmp_path):
    out = tmp_path / "grid.json"
    grid = [
        "--factors",
        "8,12,16,20,24,28",
        "--regularization",
        "0.1",
        "--alpha",
        "10",
        "--epochs",
        "2:24:2",
        "--strategy",
        "grid",
    ]
    child = spawn_training("search", small_likes, "--out", out, *grid)
    deadline = time.monotonic() + 60
    while not out.exists() and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.01)
    child.send_signal(signal.SIGINT)
    _, stderr = child.communicate(timeout=60)
    assert child.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == "interrupted"
    done = len(strict_json(out)["curves"])
    assert 1 <= done < 6

    resumed = run_training("search", small_likes, "--out", out, "--resume", *grid)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.count("factors: ") == 6 - done
    assert [c["params"]["factors"] for c in strict_json(out)["curves"]] == [8, 12, 16, 20, 24, 28]


@pytest.mark.parametrize(
    "change, what",
    [
        (["--seed", "1"], "split settings"),
        (["--similarity-exponent", "1,0"], "split settings"),
        (["--epochs", "2:10:2"], "epochs"),
        (["--min-user-likes", "8"], "likes or thresholds"),
        (["--pick-on", "test"], "split settings"),
        (["--validation-seed", "5"], "split settings"),
        (["--strategy", "grid"], "search strategy"),
        (["--objective", "patk"], "search strategy"),
    ],
)
def test_resume_refuses_other_settings(small_likes, tmp_path, change, what):
    out = tmp_path / "grid.json"
    first = ["--factors", "8", "--regularization", "0.1", "--alpha", "10", "--epochs", "2:6:2"]
    assert run_training("search", small_likes, "--out", out, *first).returncode == 0
    before = out.read_bytes()
    args = first + change
    done = run_training("search", small_likes, "--out", out, "--resume", *args)
    assert done.returncode == 2
    assert (
        done.stderr.count("\n") == 1
        and f"cannot resume: it was run with other {what}" in done.stderr
    )
    assert out.read_bytes() == before


@pytest.mark.parametrize(
    "args, message",
    [
        (["--epochs", "5:2:1"], "gives no increasing epochs"),
        (["--epochs", "0:4:2"], "gives no increasing epochs"),
        (["--epochs", "2-4"], "is not start:stop:step"),
        (["--factors", "10,x"], "is not an integer"),
        (["--regularization", "-1"], "is not a number from 0 to 1e+06"),
        (["--fraction", "0"], "is not in (0, 1]"),
        (["--similarity-exponent", "1,-0.5"], "is not a finite number >= 0"),
        (["--sim-k", "0"], "is not positive"),
        (["--fraction", "1.0", "--split-count", "50"], "not enough users with >= 100 likes"),
        (["--eta", "1"], "'1' is not an integer >= 2"),
        (["--first-rung", "0"], "'0' is not positive"),
        (["--strategy", "random"], "invalid choice: 'random'"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(small_likes, tmp_path, args, message):
    done = run_training("search", small_likes, "--out", tmp_path / "r.json", *args)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr
    assert not (tmp_path / "r.json").exists()


def test_default_grid_is_the_reference_posts():
    grid = Grid()
    assert len(grid.configurations()) == 180
    assert grid.configurations()[:2] == [Params(10, 0.0, 1.0), Params(10, 0.0, 10.0)]
    assert list(np.unique([p.regularization for p in grid.configurations()])) == [
        0,
        1e-5,
        1e-3,
        0.1,
        10,
        100,
    ]
    assert SplitSettings() == SplitSettings(k=5, split_count=5, fraction=0.2, seed=0)
