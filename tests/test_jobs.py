"""Retrain jobs: first in first out, a capped queue, cancel, and nothing of a job outliving it.

The first tests use real processes and the jobs folder directly; the slow ones
drive a real gunicorn server with real job processes.
"""

import os
import shutil
import signal
import subprocess
import sys

import psutil
import pytest
from werkzeug.security import generate_password_hash

from training.core.likes import file_sha256
from training.core.results import fits_folder
from webapp.admin.jobs import launcher, store

from tests.admin_server import PASSWORD, health, post, served_sha, similar, start_job, wait_for

SLEEPER = "import sys, time; time.sleep(60)"


def new_job(folder):
    job_id = store.new_id()
    with store.submission_lock(folder, max_queued=3):
        store.create(folder, job_id, [], "candidate.npz", "active.npz", False, "test job")
    return job_id


def dead_pid(job_id):
    process = subprocess.Popen([sys.executable, "-c", "pass", job_id])
    process.wait()
    return process.pid


def test_a_job_reads_failed_only_when_nothing_of_it_runs(tmp_path):
    folder = str(tmp_path)
    job_id = new_job(folder)
    child = subprocess.Popen([sys.executable, "-c", SLEEPER, f"--out={folder}/{job_id}.npz"])
    try:
        job = store.read(folder, job_id)
        job.update(status="running", pid=dead_pid(job_id), child_pid=child.pid)
        store.save(folder, job)
        assert store.load(folder, job_id)["status"] == "running"  # the supervisor is gone
    finally:
        child.kill()
        child.wait()
    assert store.load(folder, job_id)["status"] == "failed"


def test_cancel_kills_what_is_left_of_a_job_and_says_cancelled(tmp_path):
    """A supervisor killed with -9 left its child running: Cancel still stops it."""
    folder = str(tmp_path)
    job_id = new_job(folder)
    spawn_and_wait = (
        f"import subprocess, sys; subprocess.Popen([sys.executable, '-c', {SLEEPER!r}, "
        f"'{job_id}']); print(flush=True); import time; time.sleep(60)"
    )
    supervisor = subprocess.Popen(
        [sys.executable, "-c", spawn_and_wait, job_id],
        start_new_session=True,
        stdout=subprocess.PIPE,
    )
    supervisor.stdout.readline()  # the child has been started
    (child,) = psutil.Process(supervisor.pid).children()
    job = store.read(folder, job_id)
    job.update(status="running", pid=supervisor.pid, child_pid=child.pid)
    store.save(folder, job)
    supervisor.kill()
    supervisor.wait()
    assert child.is_running() and store.load(folder, job_id)["status"] == "running"
    assert launcher.cancel(folder, job_id)
    child.wait(timeout=10)
    job = store.load(folder, job_id)
    assert job["status"] == "cancelled" and job["finished_at"]
    assert not launcher.cancel(folder, job_id)  # nothing left to cancel


@pytest.mark.parametrize("job_id", ["x" * 251, "j" * 65, "٣", "a.b", "-" * 300])
def test_an_invalid_job_id_is_a_404_on_every_job_route(make_app, demo_model, tmp_path, job_id):
    password_hash = generate_password_hash(PASSWORD)
    app = make_app(demo_model.path, ADMIN_PASSWORD_HASH=password_hash, JOBS_DIR=str(tmp_path))
    app.config["WTF_CSRF_ENABLED"] = False
    client, auth = app.test_client(), ("admin", PASSWORD)
    for path in ("", ".json", "/curves.svg"):
        assert client.get(f"/admin/jobs/{job_id}{path}", auth=auth).status_code == 404
    for path in ("/cancel", "/activate"):
        assert client.post(f"/admin/jobs/{job_id}{path}", auth=auth).status_code == 404


def test_admin_messages_name_files_by_role_not_by_path(make_app, demo_model, tmp_path):
    model_path = tmp_path / "models" / "active.npz"
    model_path.parent.mkdir()
    shutil.copyfile(demo_model.path, model_path)
    jobs = str(tmp_path / "jobs")
    app = make_app(
        str(model_path), ADMIN_PASSWORD_HASH=generate_password_hash(PASSWORD), JOBS_DIR=jobs
    )
    app.config["WTF_CSRF_ENABLED"] = False
    client, auth = app.test_client(), ("admin", PASSWORD)
    job_id = new_job(jobs)
    candidate = tmp_path / "models" / f"{job_id}.npz"
    candidate.write_bytes(b"not a model")
    store.save(
        jobs, {**store.read(jobs, job_id), "status": "succeeded", "candidate": str(candidate)}
    )
    for url, message in [
        (f"/admin/jobs/{job_id}/activate", "Not activated: the job&#39;s model file: cannot load"),
        (f"/admin/jobs/{job_id}/trial", "Not put on trial: the job&#39;s model file: cannot load"),
        ("/admin/rollback", "Not rolled back: the previous model file: no previous model"),
    ]:
        page = client.post(url, auth=auth, follow_redirects=True).get_data(as_text=True)
        assert message in page and str(tmp_path) not in page


def test_only_state_files_list_as_jobs(tmp_path):
    folder = str(tmp_path)
    job_id = new_job(folder)
    paths = store.job_paths(folder, job_id)
    for path in (paths.results, paths.outcome):  # what a job's steps write beside its state
        with open(path, "w", encoding="utf-8") as f:
            f.write('{"ok": true}\n')
    assert [job["id"] for job in store.all_jobs(folder)] == [job_id]


def test_the_queue_is_capped(tmp_path):
    folder = str(tmp_path)
    for _ in range(3):
        new_job(folder)
    with pytest.raises(store.QueueFull, match="3 jobs are already waiting"):
        new_job(folder)
    assert [job["seq"] for job in store.all_jobs(folder)] == [3, 2, 1]


def params_job(server, session, factors):
    return start_job(
        server,
        session,
        mode="params",
        factors=str(factors),
        regularization="0.1",
        alpha="10",
        iterations="3",
    )


@pytest.mark.slow
def test_a_killed_job_fails_and_the_old_model_keeps_serving(server, admin, demo_model):
    before = open(server.model_path, "rb").read()
    sha = health(server)["model"]["sha256"]
    a_mid = demo_model.mids[0]
    neighbours = similar(server, a_mid)
    job_id = start_job(server, admin, mode="tune")
    paused = fits_folder(store.job_paths(server.env["SKETCHREC_JOBS_DIR"], job_id).results)
    job = wait_for(server, admin, job_id, lambda j: os.path.isdir(paused) and j["child_pid"])
    os.kill(job["child_pid"], signal.SIGKILL)
    job = wait_for(server, admin, job_id, lambda j: j["status"] not in store.ACTIVE)
    assert job["status"] == "failed" and job["error"] == "killed by signal 9"
    assert not os.path.exists(paused)  # halving's paused fits go with the job
    assert open(server.model_path, "rb").read() == before
    assert health(server)["model"]["sha256"] == sha
    assert similar(server, a_mid) == neighbours


@pytest.mark.slow
def test_the_training_child_dies_with_its_supervisor(server, admin):
    job_id = start_job(server, admin, mode="tune")
    job = wait_for(server, admin, job_id, lambda j: j["status"] == "running" and j["child_pid"])
    child = psutil.Process(job["child_pid"])
    os.kill(job["pid"], signal.SIGKILL)  # the supervisor only, as `kill -9 PID` would
    child.wait(timeout=10)
    job = wait_for(server, admin, job_id, lambda j: j["status"] not in store.ACTIVE)
    assert job["status"] == "failed" and job["error"] == "the job's process died"


@pytest.mark.slow
def test_a_full_queue_refuses_and_cancelled_jobs_read_cancelled(server, admin):
    running = start_job(server, admin, mode="tune")
    job = wait_for(server, admin, running, lambda j: j["status"] == "running" and j["child_pid"])
    queued = [params_job(server, admin, 8) for _ in range(3)]
    before = len(store.all_jobs(server.env["SKETCHREC_JOBS_DIR"]))
    refused = post(admin, server, "/admin/jobs", {"likes": "likes.psv", "mode": "tune"})
    assert refused.status_code == 303
    page = admin.get(server.url + "/admin", timeout=10).text
    assert "Retrain not started: 3 jobs are already waiting (at most 3)" in page
    assert len(store.all_jobs(server.env["SKETCHREC_JOBS_DIR"])) == before
    for job_id in [queued[1], running, queued[0], queued[2]]:
        assert post(admin, server, f"/admin/jobs/{job_id}/cancel").status_code == 303
        state = admin.get(f"{server.url}/admin/jobs/{job_id}.json", timeout=10).json()["job"]
        assert state["status"] == "cancelled", state
    assert not psutil.pid_exists(job["child_pid"]) or psutil.Process(job["child_pid"]).status() == (
        psutil.STATUS_ZOMBIE
    )


@pytest.mark.slow
def test_jobs_run_in_submission_order_and_the_newest_request_serves(server, admin):
    first = params_job(server, admin, 5)
    wait_for(server, admin, first, lambda j: j["status"] == "running")
    ids = [first] + [params_job(server, admin, factors) for factors in (6, 7, 8)]
    jobs = [wait_for(server, admin, i, lambda j: j["status"] not in store.ACTIVE) for i in ids]
    assert [j["status"] for j in jobs] == ["succeeded"] * 4
    for earlier, later in zip(jobs, jobs[1:], strict=False):
        assert earlier["finished_at"] <= later["started_at"], (earlier, later)
    assert all(j["activated"] for j in jobs)
    assert served_sha(server, file_sha256(server.model_path))  # reloads run in the background
    # Each job's state keeps its candidate's sha256: the page tells "serving" without hashing.
    assert [j["candidate_sha256"] for j in jobs] == [file_sha256(j["candidate"]) for j in jobs]
    pages = [admin.get(f"{server.url}/admin/jobs/{i}", timeout=10).text for i in ids]
    assert ["This job's model is serving." in page for page in pages] == [False] * 3 + [True]
    assert health(server)["model"]["factors"] == 8
    assert post(admin, server, "/admin/rollback").status_code == 303


@pytest.mark.slow
def test_a_job_does_not_activate_over_a_newer_activation(server, admin):
    older = params_job(server, admin, 9)
    wait_for(server, admin, older, lambda j: j["status"] == "succeeded")
    sha = file_sha256(server.model_path)
    assert served_sha(server, sha)  # reloads run in the background
    newer_job = params_job(server, admin, 10)
    # While it runs, the operator activates a model again: that request is newer.
    assert post(admin, server, f"/admin/jobs/{older}/activate").status_code == 303
    job = wait_for(server, admin, newer_job, lambda j: j["status"] not in store.ACTIVE)
    assert job["status"] == "succeeded" and not job["activated"]
    assert "not activated: a newer model was activated" in job["progress"]["message"]
    assert file_sha256(server.model_path) == sha and served_sha(server, sha)
    assert health(server)["model"]["factors"] == 9


def test_a_refused_retrain_leaves_no_likes_copy(make_app, demo_model, tmp_path):
    data, jobs = tmp_path / "data", tmp_path / "jobs"
    data.mkdir()
    shutil.copyfile(os.path.join(os.path.dirname(demo_model.path), "likes.psv"), data / "likes.psv")
    app = make_app(
        demo_model.path,
        ADMIN_PASSWORD_HASH=generate_password_hash(PASSWORD),
        DATA_DIR=str(data),
        JOBS_DIR=str(jobs),
        MAX_QUEUED_JOBS=0,
    )
    app.config["WTF_CSRF_ENABLED"] = False
    client, auth = app.test_client(), ("admin", PASSWORD)
    form = {"likes": "likes.psv", "mode": "tune", "hearts": "y"}
    page = client.post("/admin/jobs", data=form, auth=auth, follow_redirects=True).text
    assert "Retrain not started: 0 jobs are already waiting" in page
    assert [n for n in os.listdir(jobs) if not n.startswith(".")] == []
