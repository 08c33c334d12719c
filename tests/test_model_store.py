"""The model store: reloads on a new file, keeps the old model on a broken one, 503 without one."""

import os
import subprocess
import sys

import numpy as np
from conftest import write_artifact

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


def test_a_web_worker_never_loads_implicit(demo_model, tmp_path):
    # A fresh interpreter: this one has implicit loaded by the training fixtures.
    script = (
        "import sys\n"
        "from webapp import create_app\n"
        "app = create_app({'MODEL_PATH': sys.argv[1], 'OFFLINE': True,\n"
        "                  'THUMBNAIL_CACHE': sys.argv[2], 'ADMIN_PASSWORD_HASH': 'x'})\n"
        "client = app.test_client()\n"
        "assert client.get('/healthz').status_code == 200\n"
        "assert client.get('/admin').status_code == 401\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'implicit'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, demo_model.path, str(tmp_path / "cache.sqlite")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
