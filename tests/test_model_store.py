"""The model store: reloads a new file off the request path, keeps the old model on a broken
one, 503 without one."""

import fcntl
import glob
import os

import numpy as np
from conftest import write_artifact

from training.likes import file_sha256
from webapp.serving.model_store import EXTENSION


def _three_then_four(path, make_app):
    write_artifact(path, np.eye(3, dtype=np.float32), list("abc"), list("ABC"), np.eye(3))
    app = make_app(path)
    assert app.test_client().get("/healthz").get_json()["model"]["models"] == 3
    write_artifact(path, np.eye(4, dtype=np.float32), list("abcd"), list("ABCD"), np.eye(4))
    return app, app.extensions[EXTENSION]


def test_a_replaced_artifact_is_served_once_loaded_in_the_background(make_app, tmp_path):
    path = str(tmp_path / "active.npz")
    app, store = _three_then_four(path, make_app)
    client = app.test_client()
    client.get("/healthz")  # notices the new file and starts loading it
    assert store.wait(timeout=30)
    health = client.get("/healthz").get_json()["model"]
    assert health["models"] == 4 and health["sha256"] == file_sha256(path)
    assert client.get("/api/models/d/similar").status_code == 200
    # the sidecar folder of the replaced content is gone, the new one serves
    assert len(glob.glob(f"{path}-*.serving")) == 1


def test_a_request_during_a_slow_load_gets_the_old_model_at_once(make_app, tmp_path):
    """The new file's sidecar is built under a file lock; holding it stalls the load, not the
    requests."""
    path = str(tmp_path / "active.npz")
    app, store = _three_then_four(path, make_app)
    client = app.test_client()
    with open(tmp_path / ".active.npz.serving.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for _ in range(3):
            assert client.get("/healthz").get_json()["model"]["models"] == 3
            assert client.get("/api/models/d/similar").status_code == 404
        assert not store.wait(timeout=0.2)  # the load is still waiting for the lock
    assert store.wait(timeout=30)
    assert client.get("/healthz").get_json()["model"]["models"] == 4


def test_a_broken_new_file_keeps_the_old_model(make_app, tmp_path):
    path = str(tmp_path / "active.npz")
    write_artifact(
        path,
        np.eye(3, dtype=np.float32),
        ["a", "b", "c"],
        ["A", "B", "C"],
        np.eye(3, dtype=np.float32),
    )
    app = make_app(path)
    client = app.test_client()
    sha = client.get("/healthz").get_json()["model"]["sha256"]
    with open(path, "wb") as f:
        f.write(b"not a zip file")
    assert client.get("/healthz").get_json()["model"]["sha256"] == sha
    assert app.extensions[EXTENSION].wait(timeout=30)
    assert client.get("/healthz").get_json()["model"]["sha256"] == sha
    os.remove(path)
    assert client.get("/api/models/a/similar").status_code == 200


def test_without_a_model_api_and_pages_answer_503(make_app, tmp_path):
    client = make_app(str(tmp_path / "missing.npz")).test_client()
    response = client.get("/healthz")
    assert response.status_code == 503 and "error" in response.get_json()
    page = client.get("/")
    assert page.status_code == 503 and b"No model yet" in page.data
