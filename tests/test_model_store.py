"""The model store: reloads a new file off the request path, keeps the old model on a broken
one, 503 without one."""

import fcntl
import gc
import glob
import json
import os
import shutil
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import requests

from training.core import serving_files
from training.core.artifact import load_model, write_model
from training.core.errors import BadInput
from training.core.likes import file_sha256
from webapp.admin import activation
from webapp.serving.model_store import EXTENSION

from tests.admin_server import AdminServer, served_sha
from tests.training_helpers import write_artifact


def _three_then_four(path, make_app):
    three_models(path)
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


def three_models(path):
    eye = np.eye(3, dtype=np.float32)
    return write_artifact(path, eye, ["a", "b", "c"], ["A", "B", "C"], eye)


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


@pytest.mark.slow
def test_a_web_worker_never_loads_implicit(demo_model, tmp_path):
    # A fresh interpreter: this one has implicit loaded by the training fixtures.
    script = (
        "import sys\n"
        "from webapp import create_app\n"
        "from werkzeug.security import generate_password_hash\n"
        "app = create_app({'MODEL_PATH': sys.argv[1], 'OFFLINE': True,\n"
        "                  'THUMBNAIL_CACHE': sys.argv[2],\n"
        "                  'ADMIN_PASSWORD_HASH': generate_password_hash('x')})\n"
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


def settled_health(app, client):
    """``/healthz`` once the reload the first request started has finished."""
    client.get("/healthz")
    assert app.extensions[EXTENSION].wait(timeout=30)
    return client.get("/healthz")


def test_healthz_says_degraded_with_the_reason_while_the_old_model_serves(make_app, tmp_path):
    path = three_models(str(tmp_path / "active.npz"))
    app = make_app(path)
    client = app.test_client()
    good = client.get("/healthz").get_json()
    assert good["status"] == "ok" and "reason" not in good
    with open(path, "wb") as f:
        f.write(b"not a zip file")
    degraded = settled_health(app, client)
    body = degraded.get_json()
    assert degraded.status_code == 200 and body["status"] == "degraded"
    assert body["reason"].startswith("the model file: cannot ")
    assert body["model"]["sha256"] == good["model"]["sha256"]
    assert str(tmp_path) not in degraded.get_data(as_text=True)
    os.remove(path)
    body = client.get("/healthz").get_json()
    assert body["status"] == "degraded" and "missing" in body["reason"]
    three_models(path)
    assert settled_health(app, client).get_json()["status"] == "ok"


def test_answers_never_show_the_model_path(make_app, tmp_path, caplog):
    missing = str(tmp_path / "secret-folder" / "active.npz")
    client = make_app(missing).test_client()
    for url in ("/", "/healthz", "/models/a", "/api/models/a/similar"):
        response = client.get(url)
        assert response.status_code == 503
        assert "secret-folder" not in response.get_data(as_text=True)
    assert "secret-folder" in caplog.text  # the operator finds it in the log


def test_a_load_failing_on_another_file_names_it_by_role(make_app, tmp_path, caplog):
    path = three_models(str(tmp_path / "active.npz"))
    app = make_app(path)
    client = app.test_client()
    lock = tmp_path / ".active.npz.serving.lock"
    lock.unlink()
    lock.mkdir()  # the serving files' lock cannot be opened: an OSError naming its path
    write_artifact(path, np.eye(4, dtype=np.float32), list("abcd"), list("ABCD"), np.eye(4))
    response = settled_health(app, client)
    body = response.get_json()
    assert body["status"] == "degraded"
    reason = "the model's serving files: Is a directory; serving the last good model"
    assert body["reason"] == reason
    assert str(tmp_path) not in response.get_data(as_text=True)
    assert str(lock) in caplog.text  # the operator finds it in the log


def test_a_serving_folder_removed_while_serving_is_rebuilt_never_a_500(make_app, tmp_path):
    path = three_models(str(tmp_path / "active.npz"))
    app = make_app(path)
    client = app.test_client()
    (folder,) = glob.glob(f"{path}-*.serving")
    shutil.rmtree(folder)
    # A thread that never opened the name index: it cannot open it until the rebuild.
    answers = []
    searching = threading.Thread(target=lambda: answers.append(client.get("/search?q=B")))
    searching.start()
    searching.join()
    assert answers[0].status_code in (200, 503)
    assert client.get("/healthz").get_json()["status"] in ("ok", "degraded")
    assert app.extensions[EXTENSION].wait(timeout=30)
    assert os.path.isdir(folder)
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok"
    searching = threading.Thread(target=lambda: answers.append(client.get("/search?q=B")))
    searching.start()
    searching.join()
    assert answers[1].status_code == 200 and b"/models/b" in answers[1].data


def test_a_folder_another_process_serves_is_kept_until_it_lets_go(make_app, tmp_path):
    path = three_models(str(tmp_path / "active.npz"))
    app = make_app(path)
    client = app.test_client()
    (old,) = glob.glob(f"{path}-*.serving")
    write_artifact(path, np.eye(4, dtype=np.float32), list("abcd"), list("ABCD"), np.eye(4))
    # Another process builds the new model's folder, which prunes the others.
    built = subprocess.run(
        [sys.executable, "-m", "training", "index", path], capture_output=True, timeout=60
    )
    assert built.returncode == 0, built.stderr
    assert len(glob.glob(f"{path}-*.serving")) == 2  # this process still serves the old one
    answers = []
    searching = threading.Thread(target=lambda: answers.append(client.get("/search?q=A")))
    searching.start()  # a new thread opens the old model's name index
    searching.join()
    assert answers[0].status_code == 200
    store = app.extensions[EXTENSION]
    assert store.wait(timeout=30) and store.get().folder != old
    answers.clear()
    gc.collect()  # nothing here serves the old model any more: the next prune removes it
    serving_files.prune(path, keep=store.get().folder)
    assert glob.glob(f"{path}-*.serving") == [store.get().folder]


def test_a_meta_that_is_not_an_object_is_a_503_not_a_500(make_app, tmp_path):
    path = three_models(str(tmp_path / "active.npz"))
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    np.savez(path, **{**arrays, "meta": np.array("[1, 2]")})
    response = make_app(path).test_client().get("/healthz")
    assert response.status_code == 503 and "error" in response.get_json()


@pytest.mark.parametrize("exponent", [-0.5, "1", True, None])
def test_a_bad_similarity_exponent_is_refused_naming_the_file(tmp_path, exponent):
    path = str(tmp_path / "model.npz")
    likes = np.eye(3, dtype=np.float32)
    write_artifact(
        path, likes, ["a", "b", "c"], ["A", "B", "C"], likes, similarity_exponent=exponent
    )
    with pytest.raises(BadInput, match=f"{path}: meta similarity_exponent .* is not a number >= 0"):
        load_model(path)


@pytest.mark.parametrize(
    "params, factors",
    [
        (None, np.eye(3, dtype=np.float32)),  # no params
        ({"regularization": "0.1", "alpha": "50"}, np.eye(3, dtype=np.float32)),
        ({"regularization": 0.0, "alpha": 50.0}, np.ones((3, 3), dtype=np.float32)),  # rank 1
    ],
)
def test_a_model_fold_in_cannot_use_keeps_the_old_one_recommending(
    make_app, tmp_path, params, factors
):
    path = three_models(str(tmp_path / "active.npz"))
    app = make_app(path)
    client = app.test_client()
    write_artifact(path, factors, ["a", "b", "c"], ["A", "B", "C"], np.eye(3))
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    meta = {**json.loads(str(arrays["meta"])), "params": params}
    np.savez(path, **{**arrays, "meta": np.array(json.dumps(meta))})
    body = settled_health(app, client).get_json()
    assert body["status"] == "degraded" and "the model file: " in body["reason"]
    response = client.post("/api/recommendations", json={"likes": ["a"]})
    assert response.status_code == 200 and response.get_json()["recommendations"]


def test_a_broken_file_starts_no_reload_per_request(make_app, tmp_path, monkeypatch):
    path = three_models(str(tmp_path / "active.npz"))
    app = make_app(path)
    client = app.test_client()
    with open(path, "wb") as f:
        f.write(b"not a zip file")
    assert settled_health(app, client).get_json()["status"] == "degraded"
    store = app.extensions[EXTENSION]
    starts = []
    monkeypatch.setattr(store, "_start_reload", lambda: starts.append(1))
    for _ in range(5):
        assert client.get("/healthz").get_json()["status"] == "degraded"
    assert starts == []  # the same broken file is not looked at again


def variant(source, target, scale):
    """A copy of the artifact ``source`` with its factors scaled: other content, same names."""
    model = load_model(source)
    factors = model.item_factors * np.float32(scale)
    indptr, indices = model.likes_indptr, model.likes_indices
    write_model(str(target), factors, model.mids, model.names, indptr, indices, model.meta)
    return str(target)


@pytest.mark.slow
def test_searches_never_fail_across_swaps_with_two_workers(tmp_path, demo_model, make_app):
    likes = os.path.join(os.path.dirname(demo_model.path), "likes.psv")
    server = AdminServer(str(tmp_path / "server"), demo_model.path, likes).start()
    try:
        # Another process still serving the first model, as a worker that has not reloaded.
        holder = make_app(server.model_path).test_client()
        (held,) = glob.glob(f"{server.model_path}-*.serving")
        words = ["sword", "car", "tree", "robot", "cat", "lamp", "ship", "skull"] * 2
        for swap in (1, 2):
            candidate = variant(demo_model.path, tmp_path / f"m{swap}.npz", 1 + swap / 10)
            activation.activate(server.model_path, candidate)
            for _ in range(2):  # while the workers reload, then once they serve the new model
                with ThreadPoolExecutor(16) as pool:
                    answers = list(pool.map(lambda q: search(server, q), words))
                assert all(status == 200 for status in answers), answers
                assert served_sha(server, file_sha256(candidate))
        assert os.path.isdir(held)  # both swaps pruned around the folder it holds
        answers = []
        searching = threading.Thread(target=lambda: answers.append(holder.get("/search?q=sword")))
        searching.start()  # a thread that never opened the first model's name index
        searching.join()
        assert answers[0].status_code == 200
    finally:
        server.stop()


def search(server, text):
    """The status of a search on a new connection (so both workers answer some)."""
    return requests.get(f"{server.url}/search?q={text}", timeout=30).status_code
