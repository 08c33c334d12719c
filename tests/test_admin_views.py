"""The admin retrain page over real HTTP: gunicorn with 2 workers, real job processes."""

import os
import re

import pytest
import requests

from training.core.likes import file_sha256
from training.core.params import DEFAULT_ITERATIONS, Params
from training.demo import write_demo
from webapp.admin.jobs import store

from tests.admin_server import PASSWORD, health, post, served_sha, similar, start_job, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def small_likes(tmp_path_factory):
    path = tmp_path_factory.mktemp("likes") / "likes.psv"
    write_demo(str(path), seed=5, users=500, models=250)
    return str(path)


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


def job_count(server):
    folder = server.env["SKETCHREC_JOBS_DIR"]
    return len(store.all_jobs(folder)) if os.path.exists(folder) else 0


def test_a_post_without_csrf_token_is_refused(server, admin):
    before = job_count(server)
    response = admin.post(
        server.url + "/admin/jobs",
        data={"likes": "likes.psv", "mode": "tune"},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 400
    assert job_count(server) == before


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


def test_tune_first_halves_and_shows_the_rungs_as_they_finish(server, admin, small_likes):
    with open(small_likes, "rb") as f:
        post(admin, server, "/admin/upload", files={"likes": ("tune.psv", f.read())})
    name = next(n for n in os.listdir(server.data_dir) if n.startswith("upload-"))
    form = {"likes": name, "mode": "tune"}  # the strategy as the form offers it: halving
    response = post(admin, server, "/admin/jobs", form)
    assert response.status_code == 303, response.text
    job_id = response.headers["Location"].rsplit("/", 1)[1]
    messages = set()

    def finished(job):
        messages.add(job["progress"]["message"])
        return job["status"] not in store.ACTIVE

    job = wait_for(server, admin, job_id, finished, timeout=300)
    os.remove(os.path.join(server.data_dir, name))
    assert job["status"] == "succeeded", job
    assert "tune by successive halving (27 configurations)" in job["description"]
    assert any(
        re.search(r"search: rung [1-4]/4 \(\d+ epochs\), \d+/\d+ config", m) for m in messages
    )
    page = admin.get(f"{server.url}/admin/jobs/{job_id}", timeout=10).text
    rows = re.findall(
        r'<tr class="rung-done">\s*<td>(\d)</td><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td>\s*'
        r"<td>(\d+)</td></tr>",
        page,
    )
    assert rows == [
        ("1", "2", "27", "27", "18"),
        ("2", "6", "9", "9", "6"),
        ("3", "18", "3", "3", "2"),
        ("4", "22", "1", "1", "0"),
    ]
    # 26 configurations stopped early: a cross ends each of their traces.
    assert page.count("l8,8 m0,-8 l-8,8") == 26 and page.count("stopped after 2 epochs") >= 18
    assert re.search(r'id="best-simk">([0-9.]+)<', page)  # the pick's test simk, once it ended


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
    assert served_sha(server, file_sha256(server.model_path))
    after = health(server)["model"]
    assert after["sha256"] != before["sha256"]
    assert after["factors"] == 12
    assert similar(server, a_mid) != neighbours
    page = admin.get(f"{server.url}/admin/jobs/{job_id}", timeout=10).text
    assert "<svg" in page and "Popularity baseline" in page
    assert "Best similar lists" in page  # the simk curves
    simk = re.search(r'id="best-simk">([0-9.]+)<', page).group(1)
    baseline_simk = re.search(r'id="baseline-simk">([0-9.]+)<', page).group(1)
    assert float(simk) > float(baseline_simk)
    index = admin.get(server.url + "/admin", timeout=10).text
    # The active model (this job's) and the job's row both show p@k and simk vs popularity.
    assert f"test simk {simk} (popularity baseline {baseline_simk})" in index
    row = re.search(r'class="figures">([0-9.]+) / ([0-9.]+)\s+\(([0-9.]+) / ([0-9.]+)\)', index)
    assert row and row.group(2) == simk and row.group(4) == baseline_simk

    response = post(admin, server, "/admin/rollback")
    assert response.status_code == 303
    assert served_sha(server, before["sha256"])
    assert similar(server, a_mid) == neighbours
    assert open(server.model_path, "rb").read() == original_bytes
    # Activating the job's model again from its page works too.
    assert post(admin, server, f"/admin/jobs/{job_id}/activate").status_code == 303
    assert served_sha(server, after["sha256"])
    assert post(admin, server, "/admin/rollback").status_code == 303


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("factors", "0", "factors: &#39;0&#39; is not from 1 to 1024"),
        ("factors", "many", "factors: Not a valid integer value."),
        ("alpha", "-1", "alpha: &#39;-1.0&#39; is not a number from 0 to 1e+06"),
        ("regularization", "inf", "regularization: &#39;inf&#39; is not a number from 0 to 1e+06"),
        ("iterations", "", "iterations: This field is required."),
        ("iterations", "100000000", "iterations: &#39;100000000&#39; is not from 1 to 1000"),
    ],
)
def test_bad_parameters_give_one_message_and_no_job(server, admin, field, value, message):
    before = job_count(server)
    form = {
        "likes": "likes.psv",
        "mode": "params",
        "factors": "8",
        "regularization": "0.1",
        "alpha": "10",
        "iterations": "3",
        field: value,
    }
    response = post(admin, server, "/admin/jobs", form)
    assert response.status_code == 303
    page = admin.get(server.url + "/admin", timeout=10).text
    assert f"Retrain not started: {message}" in page
    assert job_count(server) == before


def test_the_form_shows_the_default_parameters(admin, server):
    page = admin.get(server.url + "/admin", timeout=10).text
    shown = dict(re.findall(r'<input[^>]*name="(\w+)"[^>]*type="number"[^>]*value="([^"]*)"', page))
    shown.update(re.findall(r'<input[^>]*name="(\w+)"[^>]*value="([^"]*)"[^>]*type="number"', page))
    defaults = Params()
    assert {name: float(value) for name, value in shown.items()} == {
        "factors": defaults.factors,
        "regularization": defaults.regularization,
        "alpha": defaults.alpha,
        "iterations": DEFAULT_ITERATIONS,
    }
