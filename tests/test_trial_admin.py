"""The admin side of visitors' events on gunicorn: a retrain that adds the hearts visitors
posted, its model put on trial from the job page, then activated with one button."""

import re
import time

import numpy as np
import pytest
import requests

from training.core.artifact import load_model
from training.core.likes import file_sha256
from webapp.admin.jobs import store
from webapp.events import tickets

from tests.admin_server import post, served_sha, start_job, wait_for

pytestmark = pytest.mark.slow

HEARTERS = [f"hearter-{i:02d}-0123456789" for i in range(6)]


def interleaved(server, mid, visitor, timeout=30):
    """The ticket of ``mid``'s list for ``visitor`` once every worker interleaves it."""
    key = server.env["SKETCHREC_SECRET_KEY"]
    deadline = time.monotonic() + timeout
    streak = 0
    while streak < 8:  # eight in a row: both workers have loaded the candidate
        assert time.monotonic() < deadline, "the candidate never went on trial"
        url = f"{server.url}/api/models/{mid}/similar"
        body = requests.get(url, params={"visitor": visitor}, timeout=10).json()
        ticket = tickets.read(body["ticket"], key)
        streak = streak + 1 if ticket.teams else 0
        time.sleep(0.05)
    return ticket


def test_hearts_retrain_trial_and_activation_from_the_admin_page(fresh_admin_server, demo_model):
    server, admin = fresh_admin_server, fresh_admin_server.session()
    for visitor in HEARTERS:
        for mid in demo_model.mids[:6]:
            event = {"visitor": visitor, "type": "heart", "mid": mid}
            assert requests.post(server.url + "/api/events", json=event, timeout=10).ok
    deadline = time.monotonic() + 10
    while "(36 from 6 visitors)" not in admin.get(server.url + "/admin", timeout=10).text:
        assert time.monotonic() < deadline, "the hearts never reached the admin page"
        time.sleep(0.2)

    form = {"mode": "params", "factors": "8", "regularization": "0.1", "alpha": "20"}
    job_id = start_job(server, admin, **form, iterations="4", activate="", hearts="y")
    job = wait_for(server, admin, job_id, lambda j: j["status"] not in store.ACTIVE)
    assert job["status"] == "succeeded" and not job["activated"], job
    assert job["description"].endswith("on likes.psv and 36 visitors' hearts")
    trained = load_model(job["candidate"]).meta["dataset"]
    before = load_model(server.model_path).meta["dataset"]
    assert trained["users"] == before["users"] + 6  # each visitor is a user of the fit

    assert "Put it on trial" in admin.get(f"{server.url}/admin/jobs/{job_id}", timeout=10).text
    assert post(admin, server, f"/admin/jobs/{job_id}/trial").status_code == 303
    active_sha, candidate_sha = file_sha256(server.model_path), file_sha256(job["candidate"])
    ticket = interleaved(server, demo_model.mids[10], HEARTERS[0])
    assert ticket.models == (active_sha, candidate_sha)
    report = admin.get(server.url + "/admin/trial.json", timeout=10).json()
    assert report == {
        "active": active_sha,
        "candidate": candidate_sha,
        "comparisons": 0,
        "wins": {"candidate": 0, "active": 0, "tie": 0},
        "p_value": 1.0,
    }
    page = admin.get(server.url + "/admin", timeout=10).text
    assert re.search(r"<strong>No difference yet</strong>", page)
    assert "Activate the candidate" in page and "End the trial" in page
    assert file_sha256(server.model_path) == active_sha  # a trial activates nothing

    assert post(admin, server, "/admin/trial/activate").status_code == 303
    assert served_sha(server, candidate_sha)
    assert admin.get(server.url + "/admin/trial.json", timeout=10).status_code == 404
    anonymous = requests.get(f"{server.url}/api/models/{demo_model.mids[10]}/similar", timeout=10)
    ticket = tickets.read(anonymous.json()["ticket"], server.env["SKETCHREC_SECRET_KEY"])
    assert ticket.models == (candidate_sha,) and ticket.teams is None
    assert np.array_equal(load_model(server.model_path).mids, load_model(job["candidate"]).mids)
