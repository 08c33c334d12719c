"""Shared fixtures: demo likes and a real small search, real models built with the
training library, a fake Sketchfab API on 127.0.0.1, a pytest-flask ``app`` and
headless Chromium."""

import os
import threading
import time
from dataclasses import dataclass

import numpy as np
import pytest
import scipy.sparse as sp
from werkzeug.serving import make_server

from training import demo, wrmf
from training.core import artifact
from training.core.halving import Strategy
from training.core.likes import read_likes
from training.core.params import Params
from training.core.prepare import dataset_summary, prepare
from training.search import SplitSettings, run_search
from webapp import create_app
from webapp.thumbnails import sketchfab as sketchfab_client

from tests.admin_server import AdminServer
from tests.fake_sketchfab import FakeSketchfab
from tests.training_helpers import SMALL_EPOCHS, SMALL_GRID, write_artifact

HOSTILE_NAMES = ["<script>alert(1)</script>", 'Quote " & ampersand', "Plain cube", "Sphere"]


@dataclass
class Built:
    """A model artifact on disk and the demo's truth about it."""

    path: str
    mids: list
    group_of: dict


@pytest.fixture(scope="session")
def demo_model(tmp_path_factory):
    """A small real model: demo likes (planted taste groups) fitted with WRMF, once per session."""
    folder = tmp_path_factory.mktemp("demo")
    likes_path = str(folder / "likes.psv")
    generated = demo.write_demo(likes_path, seed=1, users=600, models=300)
    prepared = prepare(read_likes(likes_path))
    params = Params(factors=16, regularization=0.1, alpha=50.0)
    model = wrmf.fit(prepared.likes, params, iterations=12)
    dataset = dataset_summary(likes_path, prepared)
    path = str(folder / "model.npz")
    artifact.save_model(
        path,
        model.item_factors,
        prepared.mids,
        prepared.names,
        prepared.likes,
        artifact.build_meta(params, 12, dataset),
    )
    return Built(path, prepared.mids.tolist(), generated.group_of)


@pytest.fixture(scope="session")
def hostile_model(tmp_path_factory):
    """Four hand-made models, one named ``<script>alert(1)</script>``; users 0..2 like 0 and 1."""
    factors = np.array([[1, 0], [0.9, 0.1], [0, 1], [-1, 0]], dtype=np.float32)
    likes = sp.csr_matrix(np.array([[1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 0, 1]], dtype=np.float32))
    mids = ["aaa111", "bbb222", "ccc333", "ddd444"]
    path = str(tmp_path_factory.mktemp("hostile") / "model.npz")
    return Built(write_artifact(path, factors, mids, HOSTILE_NAMES, likes), mids, {})


@pytest.fixture(scope="session")
def sketchfab_server():
    server = FakeSketchfab().start()
    yield server
    server.stop()


@pytest.fixture
def sketchfab(sketchfab_server):
    """The fake Sketchfab API, reset: every mid answers ``ok``, no hits yet."""
    sketchfab_server.reset()
    return sketchfab_server


@pytest.fixture
def make_app(tmp_path, sketchfab):
    """Build an app on ``model_path`` with a fresh thumbnail cache; extra config as keywords."""

    built = []

    def build(model_path, **config):
        app = create_app(
            {
                "TESTING": True,
                "MODEL_PATH": model_path,
                "THUMBNAIL_CACHE": str(tmp_path / "cache" / "sketchfab.sqlite"),
                "EVENTS_DB": str(tmp_path / "events.sqlite"),
                "SKETCHFAB_API_URL": sketchfab.url,
                "SKETCHFAB_IMAGE_ORIGINS": sketchfab.origin,
                "SKETCHFAB_TIMEOUT": 0.5,
                "OFFLINE": False,
                **config,
            }
        )
        built.append(app)
        return app

    yield build
    for app in built:  # look-ups still running would reach the fake API during the next test
        wait_for_lookups(app)


@pytest.fixture
def settle():
    """``settle(app)`` waits until the app's thumbnail look-ups have ended."""
    return wait_for_lookups


def wait_for_lookups(app, seconds=5.0):
    """Wait until ``app``'s thumbnail look-ups in this process have ended."""
    deadline = time.monotonic() + seconds
    client = app.extensions[sketchfab_client.EXTENSION]
    while client.lookups_queued() and time.monotonic() < deadline:
        time.sleep(0.01)


@pytest.fixture
def live_url(make_app, demo_model, sketchfab):
    """The app served over real HTTP on a free loopback port; every tenth model is 'deleted'."""
    for mid in demo_model.mids[::10]:
        sketchfab.modes[mid] = "404"
    server = make_server("127.0.0.1", 0, make_app(demo_model.path), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture
def app(make_app, demo_model):
    """The pytest-flask app: the demo model, the fake Sketchfab API."""
    return make_app(demo_model.path)


@pytest.fixture
def hostile_client(make_app, hostile_model):
    return make_app(hostile_model.path).test_client()


@pytest.fixture(scope="session")
def demo_likes(tmp_path_factory):
    """The default demo likes file (3000 users x 2000 models), as ``make run`` builds it."""
    path = tmp_path_factory.mktemp("demo") / "demo.psv"
    demo.write_demo(str(path))
    return path


@pytest.fixture(scope="session")
def small_likes(tmp_path_factory):
    """A smaller demo likes file (800 users x 500 models) for command-line runs."""
    path = tmp_path_factory.mktemp("small") / "small.psv"
    demo.write_demo(str(path), seed=3, users=800, models=500)
    return path


@pytest.fixture(scope="session")
def demo_search(demo_likes, tmp_path_factory):
    """``(path, results)`` of an 8-configuration full-grid search on the demo likes."""
    path = tmp_path_factory.mktemp("search") / "grid.json"
    prepared = prepare(read_likes(str(demo_likes)))
    results = run_search(
        prepared,
        dataset_summary(str(demo_likes), prepared),
        str(path),
        grid=SMALL_GRID,
        epochs=SMALL_EPOCHS,
        settings=SplitSettings(),
        strategy=Strategy("grid"),
        echo=lambda line: None,
    )
    return path, results


@pytest.fixture(scope="module")
def server(tmp_path_factory, demo_model):
    """gunicorn (admin on) for one test module: the demo model and its likes to retrain on."""
    likes = os.path.join(os.path.dirname(demo_model.path), "likes.psv")
    server = AdminServer(str(tmp_path_factory.mktemp("admin")), demo_model.path, likes).start()
    yield server
    server.stop()


@pytest.fixture
def admin(server):
    """A requests session logged in to ``server`` as admin."""
    return server.session()


@pytest.fixture
def fresh_admin_server(tmp_path, demo_model):
    """gunicorn (admin on) for one test, with no jobs yet: the demo model and its likes."""
    likes = os.path.join(os.path.dirname(demo_model.path), "likes.psv")
    server = AdminServer(str(tmp_path), demo_model.path, likes).start()
    yield server
    server.stop()
