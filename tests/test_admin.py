"""The admin retrain page over real HTTP: gunicorn with 2 workers, real job processes."""

import os
import signal
import time

import pytest
import requests

from training.demo import write_demo
from webapp import create_app
from webapp.admin.jobs import store
from webapp.secret_key import load_or_create

from admin_server import PASSWORD, AdminServer, csrf_token


@pytest.fixture(scope="module")
def small_likes(tmp_path_factory):
    path = tmp_path_factory.mktemp("likes") / "likes.psv"
    write_demo(str(path), seed=5, users=500, models=250)
    return str(path)


@pytest.fixture(scope="module")
def server(tmp_path_factory, demo_model):
    """Serving the demo model, with the demo model's own likes file to retrain on."""
    likes = os.path.join(os.path.dirname(demo_model.path), "likes.psv")
    server = AdminServer(str(tmp_path_factory.mktemp("admin")), demo_model.path, likes).start()
    yield server
    server.stop()


@pytest.fixture
def admin(server):
    return server.session()


def post(session, server, path, data=None, **kwargs):
    token = csrf_token(session, server.url)
    return session.post(
        server.url + path,
        data={"csrf_token": token, **(data or {})},
        allow_redirects=False,
        timeout=30,
        **kwargs,
    )


def wait_for(server, session, job_id, until, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = session.get(f"{server.url}/admin/jobs/{job_id}.json", timeout=10).json()["job"]
        if until(job):
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} still {job['status']}: {job}")


def start_job(server, session, **form):
    response = post(
        session, server, "/admin/jobs", {"likes": "likes.psv", "activate": "on", **form}
    )
    assert response.status_code == 303, response.text
    return response.headers["Location"].rsplit("/", 1)[1]


def health(server):
    return requests.get(server.url + "/healthz", timeout=10).json()


def similar(server, mid):
    response = requests.get(f"{server.url}/api/models/{mid}/similar?k=10", timeout=10)
    return [s["mid"] for s in response.json()["similar"]] if response.status_code == 200 else None


def test_admin_is_off_without_a_password_hash(make_app, demo_model):
    client = make_app(demo_model.path).test_client()
    assert client.get("/admin").status_code == 404
    assert client.post("/admin/jobs").status_code == 404


def test_credentials_are_required(server):
    assert requests.get(server.url + "/admin", timeout=10).status_code == 401
    assert (
        requests.get(server.url + "/admin", auth=("admin", "wrong"), timeout=10).status_code == 401
    )
    assert (
        requests.get(server.url + "/admin", auth=("root", PASSWORD), timeout=10).status_code == 401
    )
    response = requests.get(server.url + "/admin", auth=("admin", PASSWORD), timeout=10)
    assert response.status_code == 200 and "likes.psv" in response.text
    assert "WWW-Authenticate" in requests.get(server.url + "/admin/jobs/x", timeout=10).headers


def test_a_post_without_csrf_token_is_refused(server, admin):
    response = admin.post(
        server.url + "/admin/jobs",
        data={"likes": "likes.psv", "mode": "tune"},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 400
    assert not os.path.exists(server.env["SKETCHREC_JOBS_DIR"]) or not store.all_jobs(
        server.env["SKETCHREC_JOBS_DIR"]
    )


def test_oversized_upload_gets_413(server, admin):
    big = b"modelname|mid|uid\n" + b"x|m|u\n" * 300_000
    response = post(admin, server, "/admin/upload", files={"likes": ("big.psv", big)})
    assert response.status_code == 413
    assert sorted(os.listdir(server.data_dir)) == ["likes.psv"]


def test_bad_upload_shows_the_loaders_error(server, admin):
    bad = b"modelname|mid|uid\na|m|u\nb||u\n"
    response = post(admin, server, "/admin/upload", files={"likes": ("bad.psv", bad)})
    assert response.status_code == 303
    page = admin.get(server.url + "/admin", timeout=10).text
    assert "Upload rejected: the uploaded file:3: empty mid" in page
    assert sorted(os.listdir(server.data_dir)) == ["likes.psv"]


def test_good_upload_is_listed(server, admin, small_likes):
    with open(small_likes, "rb") as f:
        response = post(admin, server, "/admin/upload", files={"likes": ("mine.psv", f.read())})
    assert response.status_code == 303
    page = admin.get(server.url + "/admin", timeout=10).text
    assert "Saved upload-" in page and "likes after thresholding" in page
    uploads = [n for n in os.listdir(server.data_dir) if n.startswith("upload-")]
    assert len(uploads) == 1 and uploads[0] in page
    os.remove(os.path.join(server.data_dir, uploads[0]))


def test_retrain_activate_and_roll_back(server, admin, demo_model):
    before = health(server)["model"]
    a_mid = demo_model.mids[0]
    neighbours = similar(server, a_mid)
    original_bytes = open(server.model_path, "rb").read()
    job_id = start_job(
        server, admin, mode="params", factors="12", regularization="0.1", alpha="20", iterations="6"
    )
    job = wait_for(server, admin, job_id, lambda j: j["status"] not in store.ACTIVE)
    assert job["status"] == "succeeded", job
    assert job["activated"]
    # Both gunicorn workers serve the new model without a restart.
    shas = {health(server)["model"]["sha256"] for _ in range(8)}
    after = health(server)["model"]
    assert shas == {after["sha256"]} and after["sha256"] != before["sha256"]
    assert after["factors"] == 12
    assert similar(server, a_mid) != neighbours
    page = admin.get(f"{server.url}/admin/jobs/{job_id}", timeout=10).text
    assert "<svg" in page and "Popularity baseline" in page

    response = post(admin, server, "/admin/rollback")
    assert response.status_code == 303
    assert health(server)["model"]["sha256"] == before["sha256"]
    assert similar(server, a_mid) == neighbours
    assert open(server.model_path, "rb").read() == original_bytes
    # Activating the job's model again from its page works too.
    assert post(admin, server, f"/admin/jobs/{job_id}/activate").status_code == 303
    assert health(server)["model"]["sha256"] == after["sha256"]
    assert post(admin, server, "/admin/rollback").status_code == 303


def test_a_killed_job_fails_and_the_old_model_keeps_serving(server, admin, demo_model):
    before = open(server.model_path, "rb").read()
    sha = health(server)["model"]["sha256"]
    a_mid = demo_model.mids[0]
    neighbours = similar(server, a_mid)
    job_id = start_job(server, admin, mode="tune")
    job = wait_for(server, admin, job_id, lambda j: j["status"] == "running" and j["child_pid"])
    os.kill(job["child_pid"], signal.SIGKILL)
    job = wait_for(server, admin, job_id, lambda j: j["status"] not in store.ACTIVE)
    assert job["status"] == "failed" and job["error"] == "killed by signal 9"
    assert open(server.model_path, "rb").read() == before
    assert health(server)["model"]["sha256"] == sha
    assert similar(server, a_mid) == neighbours


def test_a_job_whose_supervisor_died_reads_as_failed(server, admin):
    job_id = start_job(server, admin, mode="tune")
    job = wait_for(server, admin, job_id, lambda j: j["status"] == "running" and j["child_pid"])
    os.killpg(job["pid"], signal.SIGKILL)
    job = wait_for(server, admin, job_id, lambda j: j["status"] not in store.ACTIVE)
    assert job["status"] == "failed" and job["error"] == "the job's process died"


def test_secret_key_is_made_once(tmp_path):
    path = str(tmp_path / "instance" / "secret_key")
    key = load_or_create(path)
    assert len(key) == 64 and load_or_create(path) == key
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"


def test_admin_password_command_prints_a_hash_that_checks():
    from werkzeug.security import check_password_hash

    app = create_app({"TESTING": True, "SECRET_KEY": "x", "MODEL_PATH": "/nonexistent.npz"})
    result = app.test_cli_runner().invoke(args=["admin-password"], input="s3cret\ns3cret\n")
    assert result.exit_code == 0, result.output
    assert check_password_hash(result.output.strip().splitlines()[-1], "s3cret")


def test_jobs_run_one_at_a_time_and_can_be_cancelled(server, admin):
    first = start_job(server, admin, mode="tune")
    second = start_job(
        server, admin, mode="params", factors="8", regularization="0.1", alpha="10", iterations="3"
    )
    wait_for(server, admin, first, lambda j: j["status"] == "running")
    assert (
        admin.get(f"{server.url}/admin/jobs/{second}.json", timeout=10).json()["job"]["status"]
        == "queued"
    )
    assert post(admin, server, f"/admin/jobs/{first}/cancel").status_code == 303
    cancelled = wait_for(server, admin, first, lambda j: j["status"] not in store.ACTIVE)
    assert cancelled["status"] == "failed" and cancelled["error"] == "cancelled"
    done = wait_for(server, admin, second, lambda j: j["status"] not in store.ACTIVE)
    assert done["status"] == "succeeded" and done["activated"]
    assert post(admin, server, "/admin/rollback").status_code == 303
