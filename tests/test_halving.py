"""Successive halving: the schedule, who is stopped where, the warm start across rungs,
--resume after a real interrupt, and the pick made on the validation split."""

import json
import signal
import time

import pytest

from training import wrmf
from training.core.halving import (
    Strategy,
    halving_schedule,
    rung_rows,
    rung_score,
    search_progress,
    stopped_curves,
)
from training.core.likes import read_likes
from training.core.params import Params
from training.core.prepare import dataset_summary, prepare
from training.core.svg_plot import curves_svg, figure_numbers
from training.evaluation import Evaluation
from training.search import Grid, SplitSettings, run_search
from training.split import split_likes

from tests.training_helpers import run_training, spawn_training

SMALL = ["--regularization", "0.1,10", "--alpha", "10,40", "--epochs", "2:12:2"]


def test_the_reference_grid_halves_to_its_last_epoch():
    schedule = halving_schedule(180, range(2, 40, 2), first_rung=2, eta=3)
    assert (schedule.rungs, schedule.sizes) == ((2, 6, 18, 38), (180, 60, 20, 6))
    assert schedule.work() == 180 * 2 + 60 * 4 + 20 * 12 + 6 * 20  # a seventh of 180 x 38
    # Rungs move up to a checkpoint; a rung that keeps as many as the next is dropped.
    assert halving_schedule(27, range(2, 24, 2), first_rung=3, eta=3).rungs == (4, 10, 22)
    assert halving_schedule(2, range(1, 10), first_rung=1, eta=3).sizes == (2, 1)
    one = halving_schedule(1, range(1, 7), first_rung=1, eta=2)
    assert (one.rungs, one.sizes) == ((6,), (1,))


def run(likes, out, grid, strategy, resume=False, **settings):
    """The search over epochs 2..10 on ``likes``, quietly; ``settings`` of the split."""
    prepared = prepare(read_likes(str(likes)))
    return run_search(
        prepared,
        dataset_summary(str(likes), prepared),
        str(out),
        grid=grid,
        epochs=range(2, 12, 2),
        settings=SplitSettings(**settings),
        strategy=strategy,
        resume=resume,
        echo=lambda line: None,
    )


# Regularization 1e5 shrinks every factor to about zero: its lists are no better than chance.
DOMINATED_FIRST = Grid(factors=(8,), regularization=(1e5, 0.1, 1.0, 10.0), alpha=(10.0,))


@pytest.mark.slow
def test_a_configuration_dominated_at_the_first_rung_is_stopped_there(small_likes, tmp_path):
    results = run(small_likes, tmp_path / "r.json", DOMINATED_FIRST, Strategy(eta=2))
    assert (results["search"]["rungs"], results["search"]["sizes"]) == ([2, 4, 10], [4, 2, 1])
    dominated, *others = results["curves"]
    assert dominated["params"]["regularization"] == 1e5
    assert dominated["rung"] == 0 and dominated["epochs"] == [2]
    scores = [rung_score(c, 2, "similar", "validation") for c in results["curves"]]
    assert scores[0] < min(scores[1:])
    # Two go on from the first rung, one from the second; who reached where is recorded.
    assert sorted(c["rung"] for c in results["curves"]) == [0, 0, 1, 2]
    assert [c["epochs"][-1] for c in results["curves"]] == [
        [2, 4, 10][c["rung"]] for c in results["curves"]
    ]
    assert [(r["stopped"], r["reached"]) for r in rung_rows(results)] == [(2, 4), (1, 2), (0, 1)]
    assert stopped_curves(results)[(8, 1e5, 10.0)] == 2
    # The figure ends each stopped trace with a cross, and says so in words.
    numbers = figure_numbers(results)
    assert sorted(c["stopped"] or 0 for c in numbers["configurations"]) == [0, 2, 2, 4]
    svg = curves_svg(results)
    assert svg.count("l8,8 m0,-8 l-8,8") == 3 and "× stopped by halving" in svg
    assert "stopped after 2 epochs" in svg
    assert search_progress(str(tmp_path / "r.json")) == (1.0, "scoring the pick on the test split")


@pytest.mark.slow
def test_halving_curves_are_the_grids_cut_at_their_rungs(small_likes, tmp_path):
    """Paused fits go on exactly (saved factors, warm start): a curve cut at its rung is the
    grid's curve, and halving's picks are cells of the grid."""
    grid = Grid(factors=(8, 16), regularization=(0.1, 10.0), alpha=(10.0, 40.0))
    halved = run(small_likes, tmp_path / "h.json", grid, Strategy(eta=2))
    full = run(small_likes, tmp_path / "g.json", grid, Strategy("grid"))
    assert not (tmp_path / "h.json.fits").exists()  # the paused fits go with the search
    assert {c["rung"] for c in halved["curves"]} == {0, 1, 2, 3}
    for cut, whole in zip(halved["curves"], full["curves"], strict=True):
        n = len(cut["epochs"])
        assert cut["params"] == whole["params"] and cut["epochs"] == whole["epochs"][:n]
        for metric in ("patk", "mse"):
            for part in ("train", "validation"):
                assert cut[metric][part] == whole[metric][part][:n]
        for a, b in zip(cut["simk"], whole["simk"], strict=True):
            assert a["validation"] == b["validation"][:n]


def strip_seconds(curves):
    return [{k: v for k, v in c.items() if not k.endswith("seconds")} for c in curves]


@pytest.mark.slow
def test_resume_finishes_an_interrupted_halving_run_with_the_same_pick(small_likes, tmp_path):
    args = ["--factors", "8,12,16,20,24,28", *SMALL, "--eta", "2"]
    whole = tmp_path / "whole.json"
    assert run_training("search", small_likes, "--out", whole, *args).returncode == 0
    complete = json.loads(whole.read_text())

    out = tmp_path / "r.json"
    child = spawn_training("search", small_likes, "--out", out, *args)
    deadline = time.monotonic() + 60

    def in_second_rung():
        try:
            return any(c["rung"] >= 1 for c in json.loads(out.read_text())["curves"])
        except (OSError, ValueError):
            return False

    while not in_second_rung() and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.005)
    child.send_signal(signal.SIGINT)
    _, stderr = child.communicate(timeout=60)
    assert child.returncode == 130, stderr
    partial = json.loads(out.read_text())
    assert partial["best_simk"] and "simk_test" not in partial["best_simk"]
    paused = list((tmp_path / "r.json.fits").iterdir())
    assert paused  # the fits waiting for the next rung are on disk

    resumed = run_training("search", small_likes, "--out", out, "--resume", *args)
    assert resumed.returncode == 0, resumed.stderr
    after = json.loads(out.read_text())
    assert strip_seconds(after["curves"]) == strip_seconds(complete["curves"])
    assert after["best_simk"] == complete["best_simk"] and after["best"] == complete["best"]
    assert "simk_test" in after["best_simk"]
    # Only the stretches (a configuration's run to a rung) the interrupted run had not
    # written ran again.
    stretches = sum(c["rung"] + 1 for c in complete["curves"])
    written = sum(c["rung"] + 1 for c in partial["curves"])
    assert resumed.stdout.count("factors: ") == stretches - written
    assert after["search"]["seconds"] > partial["search"]["seconds"]
    assert not (tmp_path / "r.json.fits").exists()


@pytest.mark.slow
def test_resume_refits_a_paused_fit_whose_file_is_gone(small_likes, tmp_path):
    """A kill between writing the factors and RESULTS.json loses nothing: the fit is
    redone from the start (ALS is deterministic) and the curves come out the same."""
    grid = Grid(factors=(8, 16), regularization=(0.1, 10.0), alpha=(10.0,))
    complete = run(small_likes, tmp_path / "a.json", grid, Strategy(eta=2))
    out = tmp_path / "b.json"
    first_rung = dict(complete, curves=[dict(c, epochs=[2]) for c in complete["curves"]])
    for curve in first_rung["curves"]:
        curve["rung"] = 0
        for metric in ("patk", "mse"):
            curve[metric] = {part: values[:1] for part, values in curve[metric].items()}
        curve["simk"] = [
            {k: v[:1] if isinstance(v, list) else v for k, v in s.items()} for s in curve["simk"]
        ]
    out.write_text(json.dumps(first_rung))  # no saved fits beside it
    resumed = run(small_likes, out, grid, Strategy(eta=2), resume=True)
    assert strip_seconds(resumed["curves"]) == strip_seconds(complete["curves"])
    assert resumed["best_simk"] == complete["best_simk"]


@pytest.mark.slow
def test_the_pick_is_made_on_the_validation_split(small_likes, tmp_path):
    """The curves are scored on likes held out from the training likes (a second split),
    the pick is their best cell, and only the pick is scored on the test split."""
    grid = Grid(factors=(8, 16), regularization=(0.1, 10.0), alpha=(10.0, 40.0))
    results = run(small_likes, tmp_path / "r.json", grid, Strategy(eta=2), seed=4)
    assert results["split"]["validation_seed"] == 5
    likes = prepare(read_likes(str(small_likes))).likes
    test = split_likes(likes, 5, 0.2, seed=4)
    validation = split_likes(test.train, 5, 0.2, seed=5)
    on_validation = Evaluation(validation, 5, seed=5)
    on_test = Evaluation(test, 5, seed=4)

    pick = results["best_simk"]
    cells = [
        (v, c["params"], e, s["exponent"])
        for c in results["curves"]
        for s in c["simk"]
        for e, v in zip(c["epochs"], s["validation"], strict=True)
    ]
    assert max(cells, key=lambda cell: cell[0])[1:] == (
        pick["params"],
        pick["iterations"],
        pick["similarity_exponent"],
    )
    params, iterations = Params(**pick["params"]), pick["iterations"]
    exponent = on_validation.exponents.index(pick["similarity_exponent"])
    # The recorded curve is the validation split's: fitted without the validation likes.
    model = wrmf.fit(validation.train, params, iterations, seed=4)
    checkpoint = on_validation(iterations, model.user_factors, model.item_factors)
    assert pick["simk_validation"] == checkpoint.simk_test[exponent]
    assert pick["patk_validation"] == checkpoint.patk_test
    # Its test figures: refitted on every training like, scored on the test split.
    model = wrmf.fit(test.train, params, iterations, seed=4)
    checkpoint = on_test(iterations, model.user_factors, model.item_factors)
    assert pick["simk_test"] == checkpoint.simk_test[exponent]
    assert pick["patk_test"] == checkpoint.patk_test
    # Picking on test, the earlier way, scores the same fits on other likes.
    earlier = run(small_likes, tmp_path / "t.json", grid, Strategy(eta=2), seed=4, pick_on="test")
    assert "validation" not in earlier["curves"][0]["patk"]
    assert earlier["curves"][0]["patk"]["test"] != results["curves"][0]["patk"]["validation"]


@pytest.mark.slow
def test_cli_prints_the_schedule_and_where_configurations_stopped(small_likes, tmp_path):
    out = tmp_path / "r.json"
    done = run_training("search", small_likes, "--out", out, "--factors", "8,16", *SMALL)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    schedule = (
        "Successive halving (eta 3) by validation simk at its best exponent, "
        "configurations to epochs: 8 to 2, 2 to 6, 1 to 10"
    )
    assert schedule in lines
    assert any(line.startswith(f"{schedule}; ") and line.endswith(" min") for line in lines)
    assert "Stopped: 6 at 2 epochs, 1 at 6 epochs; 1 ran to 10" in lines
    assert sum(line.endswith("| rung 1/3: to 2 epochs") for line in lines) == 8
    assert sum(line.endswith("| rung 3/3: to 10 epochs") for line in lines) == 1
    assert json.loads(out.read_text())["search"]["strategy"] == "halving"


def counted_sweeps(monkeypatch):
    """A list that gets the ALS sweeps of every :meth:`wrmf.WRMF.train` call from now on."""
    sweeps, train = [], wrmf.WRMF.train

    def counting(self, likes, iterations, confidence_matrix=None):
        sweeps.append(max(iterations, 0))
        return train(self, likes, iterations, confidence_matrix)

    monkeypatch.setattr(wrmf.WRMF, "train", counting)
    return sweeps


WARM_GRID = Grid(factors=(8, 16), regularization=(0.1, 10.0), alpha=(10.0,))


@pytest.mark.slow
def test_going_on_from_a_rung_runs_only_the_epochs_after_it(small_likes, tmp_path, monkeypatch):
    """The warm start's point is cost: each configuration is trained to its last rung once,
    so the search runs the schedule's work in ALS sweeps (a fit restarted at each rung gives
    the same curves, but runs 4 + 10 more here)."""
    sweeps = counted_sweeps(monkeypatch)
    results = run(small_likes, tmp_path / "r.json", WARM_GRID, Strategy(eta=2), pick_on="test")
    search = results["search"]
    assert (search["rungs"], search["sizes"]) == ([2, 4, 10], [4, 2, 1])
    assert sum(sweeps) == halving_schedule(4, range(2, 12, 2), 2, 2).work() == 18


@pytest.mark.slow
def test_resume_goes_on_from_the_fits_paused_at_a_rung(small_likes, tmp_path, monkeypatch):
    """Interrupted as the second rung starts, the search resumes from the fits saved at the
    first: no sweep of the first rung runs again."""
    out = tmp_path / "r.json"
    prepared = prepare(read_likes(str(small_likes)))

    def interrupt_at_the_second_rung(line):
        if "| rung 2/" in line:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_search(
            prepared,
            dataset_summary(str(small_likes), prepared),
            str(out),
            grid=WARM_GRID,
            epochs=range(2, 12, 2),
            settings=SplitSettings(pick_on="test"),
            strategy=Strategy(eta=2),
            echo=interrupt_at_the_second_rung,
        )
    assert len(list((tmp_path / "r.json.fits").iterdir())) > 0
    sweeps = counted_sweeps(monkeypatch)
    resumed = run(small_likes, out, WARM_GRID, Strategy(eta=2), resume=True, pick_on="test")
    assert sorted(c["rung"] for c in resumed["curves"]) == [0, 0, 1, 2]
    # The first rung (4 configurations to 2 epochs) is not run again, nor refitted.
    assert sum(sweeps) == 2 * 2 + 1 * 6
