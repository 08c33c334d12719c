"""Pipeline steps as JSON specs, and the child that runs one and answers with data."""

import json
import os
import shutil
import signal

import pytest

from training.core import serving_files
from training.core.errors import BadInput
from training.core.halving import Strategy
from training.core.likes import file_sha256
from training.core.steps import (
    FitChoice,
    FitStep,
    FoldInEvalStep,
    Grid,
    IndexStep,
    LikesSource,
    SearchStep,
    SplitSettings,
    from_spec,
    read_spec,
    start_step,
    step_failure,
    to_spec,
)

LIKES = LikesSource("likes.psv", min_user_likes=3, min_model_likes=7, skip_bad_rows=True)
CHOICE = FitChoice("r.json", "patk", 8, 0.5, 20.0, 9, 0.25)
SPLIT = SplitSettings(4, 3, 0.5, 11, 20, (1.0, 0.25), pick_on="test", validation_seed=3)
STRATEGY = Strategy("grid", "patk", 2, 4)
GRID = Grid((4, 8), (0.1,), (1.0, 2.0))
STEPS = [
    FitStep(LIKES, "m.npz", CHOICE, "spark", "local[1]", 5),
    SearchStep(LIKES, "r.json", GRID, range(1, 9, 3), SPLIT, STRATEGY, True),
    IndexStep("m.npz", 1234),
    FoldInEvalStep(LIKES, CHOICE, SPLIT, 2),
]


@pytest.mark.parametrize("step", STEPS, ids=lambda s: type(s).__name__)
def test_every_step_survives_json_unchanged(step):
    text = json.dumps(to_spec(step))
    assert read_spec(text) == step
    assert from_spec(json.loads(text)) == step


@pytest.mark.parametrize(
    "text, reason",
    [
        ("{", "is JSON"),
        ('{"step": "train", "model": "m.npz"}', "KeyError: 'train'"),
        ('{"step": "index", "model": "m.npz", "threshold": 3}', "KeyError: 'threshold'"),
        ('{"step": "index"}', "TypeError"),
        ('{"step": "search", "likes": {"path": "l"}, "out": "o", "epochs": 3}', "TypeError"),
        ('{"step": "fit", "likes": "l.psv", "out": "m.npz"}', "AttributeError"),
        ("[1, 2]", "TypeError"),
    ],
)
def test_what_is_not_a_step_is_refused_in_one_line(text, reason):
    with pytest.raises(BadInput) as error:
        read_spec(text)
    assert reason in str(error.value) and "\n" not in str(error.value)


def run(step, tmp_path):
    result = str(tmp_path / "result.json")
    child = start_step(to_spec(step), result)
    return step_failure(child.wait(timeout=120), result)


@pytest.mark.slow
def test_the_child_builds_and_says_so(tmp_path, demo_model):
    path = str(tmp_path / "model.npz")
    shutil.copy(demo_model.path, path)
    assert run(IndexStep(path, 100), tmp_path) is None
    folder = serving_files.folder_of(path, file_sha256(path))
    # The calibration is always written; the index file only when it beats exact.
    assert os.path.exists(f"{folder}/{serving_files.CALIBRATION_FILE}")


@pytest.mark.slow
def test_bad_input_comes_back_as_data_with_its_kind(tmp_path):
    missing = str(tmp_path / "missing.npz")
    assert run(IndexStep(missing, 100), tmp_path) == {
        "error": f"{missing}: No such file or directory",
        "kind": "bad_input",
    }


@pytest.mark.slow
def test_a_killed_child_says_by_which_signal(tmp_path, demo_likes):
    result = str(tmp_path / "result.json")
    step = SearchStep(LikesSource(str(demo_likes)), str(tmp_path / "r.json"))
    child = start_step(to_spec(step), result)
    child.send_signal(signal.SIGKILL)
    assert step_failure(child.wait(timeout=60), result) == {
        "error": "killed by signal 9",
        "kind": "killed",
    }
