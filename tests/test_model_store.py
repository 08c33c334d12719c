"""The model store: reloads on a new file, keeps the old model on a broken one, 503 without one."""

import os

import numpy as np
import pytest
from conftest import write_artifact

from training.artifact import load_model
from training.errors import BadInput
from training.likes import file_sha256


def test_a_replaced_artifact_is_served_on_the_next_request(make_app, tmp_path):
    path = str(tmp_path / "active.npz")
    likes = np.eye(3, dtype=np.float32)
    write_artifact(path, np.eye(3, dtype=np.float32), ["a", "b", "c"], ["A", "B", "C"], likes)
    client = make_app(path).test_client()
    assert client.get("/healthz").get_json()["model"]["models"] == 3
    write_artifact(
        path, np.eye(4, dtype=np.float32), list("abcd"), list("ABCD"), np.eye(4, dtype=np.float32)
    )
    health = client.get("/healthz").get_json()["model"]
    assert health["models"] == 4 and health["sha256"] == file_sha256(path)
    assert client.get("/api/models/d/similar").status_code == 200


def test_a_broken_new_file_keeps_the_old_model(make_app, tmp_path):
    path = str(tmp_path / "active.npz")
    write_artifact(
        path,
        np.eye(3, dtype=np.float32),
        ["a", "b", "c"],
        ["A", "B", "C"],
        np.eye(3, dtype=np.float32),
    )
    client = make_app(path).test_client()
    sha = client.get("/healthz").get_json()["model"]["sha256"]
    with open(path, "wb") as f:
        f.write(b"not a zip file")
    assert client.get("/healthz").get_json()["model"]["sha256"] == sha
    os.remove(path)
    assert client.get("/api/models/a/similar").status_code == 200


def test_without_a_model_api_and_pages_answer_503(make_app, tmp_path):
    client = make_app(str(tmp_path / "missing.npz")).test_client()
    response = client.get("/healthz")
    assert response.status_code == 503 and "error" in response.get_json()
    page = client.get("/")
    assert page.status_code == 503 and b"No model yet" in page.data


@pytest.mark.parametrize("exponent", [-0.5, "1", True, None])
def test_a_bad_similarity_exponent_is_refused_naming_the_file(tmp_path, exponent):
    path = str(tmp_path / "model.npz")
    likes = np.eye(3, dtype=np.float32)
    write_artifact(
        path, likes, ["a", "b", "c"], ["A", "B", "C"], likes, similarity_exponent=exponent
    )
    with pytest.raises(BadInput, match=f"{path}: meta similarity_exponent .* is not a number >= 0"):
        load_model(path)
