"""Retrain jobs over a real gunicorn server: one at a time, cancel, a dead supervisor."""

import os
import signal

import pytest

from webapp.admin.jobs import store

from admin_server import health, post, similar, start_job, wait_for

pytestmark = pytest.mark.slow


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
