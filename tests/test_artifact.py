"""The model artifact: a round trip, and every unusable content refused with one line."""

import json

import numpy as np
import pytest

from training.core.artifact import KEYS, load_model
from training.core.errors import BadInput
from webapp.admin import activation

from tests.training_helpers import write_artifact


@pytest.fixture
def good(tmp_path):
    """A valid 3-model artifact and its arrays (as ``numpy.load`` gives them)."""
    path = str(tmp_path / "good.npz")
    likes = np.array([[1, 1, 0], [0, 1, 1]], dtype=np.float32)  # 2 users x 3 models
    write_artifact(path, np.eye(3, 2, dtype=np.float32), ["a", "b", "c"], list("ABC"), likes)
    with np.load(path) as z:
        return path, {k: z[k] for k in KEYS}


def write_with(tmp_path, arrays, **replace):
    path = str(tmp_path / "bad.npz")
    np.savez(path, **{**arrays, **replace})
    return path


def test_a_good_artifact_loads(good):
    path, _ = good
    model = load_model(path)
    assert model.mids.tolist() == ["a", "b", "c"] and model.model_users.shape == (3, 2)


@pytest.mark.parametrize(
    "replace, reason",
    [
        ({"meta": np.array("[1, 2]")}, "meta is not a JSON object"),
        ({"meta": np.array("{not json")}, "meta is not JSON"),
        ({"item_factors": np.array([[1, 0], [np.nan, 0], [0, 1]], "f4")}, "NaN or infinite"),
        ({"item_factors": np.array([[1, 0], [np.inf, 0], [0, 1]], "f4")}, "NaN or infinite"),
        ({"item_factors": np.zeros((3, 0), "f4")}, "no models or no factors"),
        ({"mids": np.array(["a", "b", "a"])}, "mid 'a' appears more than once"),
        ({"mids": np.array(["a", "", "c"])}, "model 1: empty mid"),
        ({"mids": np.array(["a", "..", "c"])}, "model 1: mid '..' cannot be a URL path segment"),
        ({"mids": np.array(["a", ".", "c"])}, "model 1: mid '.' cannot be a URL path segment"),
        ({"mids": np.array(["a", "b/c", "c"])}, "model 1: mid 'b/c' cannot be a URL path segment"),
        ({"mids": np.array([1, 2, 3])}, "mids is a 1-d int64 array"),
        ({"likes_indices": np.array([0, 0, 1, 2])}, "likes_indices out of range (users: 2)"),
        ({"likes_indices": np.array([0, -1, 1, 1])}, "likes_indices out of range"),
        ({"likes_indptr": np.array([0, 3, 2, 4])}, "likes_indptr is not a non-decreasing"),
    ],
)
def test_unusable_content_is_one_line_naming_the_file(tmp_path, good, replace, reason):
    _, arrays = good
    path = write_with(tmp_path, arrays, **replace)
    with pytest.raises(BadInput) as error:
        load_model(path)
    message = str(error.value)
    assert message.startswith(f"{path}: ") and reason in message and "\n" not in message


RANK_ONE = np.array([[1, 2], [2, 4], [3, 6]], "f4")


@pytest.mark.parametrize(
    "params, factors, reason",
    [
        (None, None, "meta has no params object"),
        (
            {"regularization": "0.1", "alpha": 50},
            None,
            "params regularization '0.1' is not a number",
        ),
        ({"regularization": 0.1, "alpha": True}, None, "params alpha True is not a number"),
        ({"regularization": 0.1}, None, "params alpha None is not a number"),
        ({"regularization": 0.0, "alpha": 50}, RANK_ONE, "degenerate at regularization 0"),
        ({"regularization": 0.0, "alpha": 50}, np.zeros((3, 2), "f4"), "degenerate"),
    ],
)
def test_params_and_factors_fold_in_cannot_use_are_refused(tmp_path, good, params, factors, reason):
    _, arrays = good
    meta = {**json.loads(str(arrays["meta"])), "params": params}
    if params is None:
        del meta["params"]
    replace = {"meta": np.array(json.dumps(meta))}
    if factors is not None:
        replace["item_factors"] = factors
    with pytest.raises(BadInput, match=reason):
        load_model(write_with(tmp_path, arrays, **replace))


def test_rank_one_factors_serve_with_regularization(tmp_path, good):
    _, arrays = good
    assert load_model(write_with(tmp_path, arrays, item_factors=RANK_ONE)).item_factors.shape


@pytest.mark.parametrize(
    "replace, reason",
    [
        ({"item_factors": np.array([[1, 0], [1, 0], [np.nan, 0]], "f4")}, "NaN or infinite"),
        ({"mids": np.array(["b", "a", "b"])}, "mid 'b' appears more than once"),
        ({"mids": np.array(["a", "b", "c/d"])}, "model 2: mid 'c/d' cannot be"),
    ],
)
def test_checks_read_in_chunks_see_every_chunk(tmp_path, good, monkeypatch, replace, reason):
    monkeypatch.setattr("training.core.artifact.CHECK_ROWS", 2)  # the fault sits in the last chunk
    path = write_with(tmp_path, good[1], **replace)
    with pytest.raises(BadInput, match=reason):
        load_model(path)


def test_mids_whose_hashes_collide_are_not_duplicates(monkeypatch):
    from training.core import artifact

    monkeypatch.setattr(artifact, "_fnv1a", lambda mids: np.zeros(len(mids), np.uint64))
    assert artifact._duplicate_mid(np.array(["a", "b", "c"])) is None
    assert artifact._duplicate_mid(np.array(["c", "b", "c", "a"])) == "c"


def test_activation_refuses_a_bad_candidate_and_keeps_the_active_model(tmp_path, good):
    active_path, arrays = good
    before = open(active_path, "rb").read()
    meta = json.loads(str(arrays["meta"]))
    candidate = write_with(
        tmp_path,
        arrays,
        item_factors=np.full((3, 2), np.nan, "f4"),
        meta=np.array(json.dumps(meta)),
    )
    with pytest.raises(BadInput, match="NaN or infinite"):
        activation.activate(active_path, candidate)
    assert open(active_path, "rb").read() == before
    assert not activation.can_roll_back(active_path)
