"""A simulated population on loopback decides a trial: the weak model is active, a better
one is on trial (``SKETCHREC_TRIAL_MODEL_PATH``), and /admin/trial.json must say so.

Both models are made by ``python -m training fit`` from the same training part of demo
likes; the visitors replay the held-out part (``simulated_visitors``) against gunicorn.
"""

import time

import pytest
import requests

from training import demo
from training.core.likes import file_sha256
from webapp.events import tickets

from tests.admin_server import AdminServer, health
from tests.simulated_visitors import population, replay
from tests.training_helpers import run_training

pytestmark = pytest.mark.slow

VISITORS = 300


@pytest.fixture(scope="module")
def trial_models(tmp_path_factory):
    """``(likes, weak, good, visitors)``: a weak (2 factors) and a good (16 factors) model
    of the same training likes, and the held-out visitors."""
    folder = tmp_path_factory.mktemp("trial")
    likes, train = folder / "likes.psv", folder / "train.psv"
    demo.write_demo(str(likes), seed=5, users=1200, models=400)
    visitors = population(likes, train, fraction=0.3, seed=1)[:VISITORS]
    models = {}
    for name, factors in (("weak", 2), ("good", 16)):
        models[name] = str(folder / f"{name}.npz")
        fitted = run_training(
            "fit", train, "--out", models[name], "--factors", factors, "--iterations", 12
        )
        assert fitted.returncode == 0, fitted.stderr
    return likes, models["weak"], models["good"], visitors


def trial_json(server, session, settled_at, timeout=30):
    """/admin/trial.json once it counts ``settled_at`` comparisons (events are written in
    batches, a moment after they are answered)."""
    deadline = time.monotonic() + timeout
    while True:
        report = session.get(server.url + "/admin/trial.json", timeout=10).json()
        if report["comparisons"] >= settled_at or time.monotonic() > deadline:
            return report
        time.sleep(0.2)


def test_a_simulated_population_finds_the_better_candidate(tmp_path, trial_models):
    likes, weak, good, visitors = trial_models
    server = AdminServer(
        str(tmp_path), weak, str(likes), env={"SKETCHREC_TRIAL_MODEL_PATH": good}
    ).start()
    try:
        with requests.Session() as session:
            visits = replay(session, server.url, visitors, seed=2)
        key = server.env["SKETCHREC_SECRET_KEY"]
        listed = [tickets.read(ticket, key) for _, ticket, _ in visits]
        assert all(t.teams and t.models == (file_sha256(weak), file_sha256(good)) for t in listed)
        expected = sum(bool(clicked) for _, _, clicked in visits)
        assert expected >= 100, expected

        report = trial_json(server, server.session(), expected)
        assert report["active"] == file_sha256(weak)
        assert report["candidate"] == file_sha256(good)
        assert report["comparisons"] == expected
        assert sum(report["wins"].values()) == expected
        assert report["wins"]["candidate"] > 2 * report["wins"]["active"], report
        assert report["p_value"] < 0.05, report
        # The trial decided nothing by itself: the weak model still serves.
        assert health(server)["model"]["sha256"] == file_sha256(weak)
    finally:
        server.stop()
