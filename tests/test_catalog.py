"""The memory-mapped catalogue answers as the in-memory one did: lookups, similar lists, search."""

import glob
import mmap

import numpy as np
import pytest
import scipy.sparse as sp
from werkzeug.security import generate_password_hash

from training.core import ann_index, serving_files
from training.core.artifact import load_model, open_model
from training.core.errors import BadInput
from training.core.likes import file_sha256
from training.core.neighbours import co_likes, similar_rows
from training.core.similarity import neighbour_space
from webapp.serving.catalog import Catalog

from tests.training_helpers import clustered, near_tied, write_artifact


def reference_similar(model, row, k):
    """The similar list as the catalogue built it from a fully loaded artifact."""
    exponent = model.meta.get("similarity_exponent", 1.0)
    vectors, norms = neighbour_space(model.item_factors, exponent)
    rows, scores = similar_rows(vectors, norms, exponent, row, k)
    shared = co_likes(model.model_users, row, rows)
    return [
        {
            "mid": str(model.mids[r]),
            "name": str(model.names[r]),
            "likes": int(model.like_counts[r]),
            "score": round(float(s), 6),
            "co_likes": int(c),
        }
        for r, s, c in zip(rows.tolist(), scores, shared, strict=True)
    ]


def reference_search(model, text):
    popular = np.argsort(-model.like_counts, kind="stable")
    needle = text.casefold()
    return [r for r in popular.tolist() if needle in str(model.names[r]).casefold()]


@pytest.fixture(params=["demo_model", "hostile_model"])
def pair(request):
    path = request.getfixturevalue(request.param).path
    return load_model(path), Catalog.open(path, file_sha256(path))


def test_every_mid_maps_to_its_row_and_unknown_ones_to_none(pair):
    model, catalog = pair
    for row, mid in enumerate(model.mids.tolist()):
        assert catalog.row(mid) == row
    last = max(model.mids.tolist())
    for unknown in ["", "0", last + "0", last[:-1], "~" * 200, "\x00", model.mids[0] + "\x00x"]:
        assert catalog.row(unknown) is None


def test_similar_lists_equal_the_in_memory_ones(pair):
    model, catalog = pair
    for row in range(len(model.mids)):
        assert catalog.similar(row, 10) == reference_similar(model, row, 10)


def test_search_equals_the_scan(pair):
    model, catalog = pair
    texts = ["a", "SCRIPT", "<", "e", "qu", '" &', "zzzz", "Knight", "cube", "T"]
    for text in texts:
        assert catalog.search(text).tolist() == reference_search(model, text)


def test_saved_models_open_mapped_and_equal_to_loaded(demo_model):
    opened, loaded = open_model(demo_model.path), load_model(demo_model.path)
    for key in ("item_factors", "mids", "names", "like_counts", "likes_indptr", "likes_indices"):
        assert isinstance(getattr(opened, key).base, mmap.mmap)
        assert np.array_equal(getattr(opened, key), getattr(loaded, key))
    assert opened.meta == loaded.meta


def served_recall(exact, approx, rows):
    """Mean share of the exact app's similar list of model ``m{row:05d}`` that the approximate
    app lists too, over ``rows``; each approximate list has 10 models, never the model itself."""
    agree = []
    for i in rows:
        a = approx.get(f"/api/models/m{i:05d}/similar").get_json()["similar"]
        e = exact.get(f"/api/models/m{i:05d}/similar").get_json()["similar"]
        assert len(a) == 10 and f"m{i:05d}" not in [s["mid"] for s in a]
        agree.append(len({s["mid"] for s in a} & {s["mid"] for s in e}) / 10)
    return np.mean(agree)


def test_the_app_answers_from_the_index_past_the_threshold(make_app, tmp_path, monkeypatch):
    monkeypatch.setattr(ann_index, "CPU_BUDGET", float("inf"))  # 2,000 models: exact is cheaper
    path = str(tmp_path / "m.npz")
    n = 2000
    vectors = clustered(n, random_state=2)
    likes = np.eye(n, dtype=np.float32)[: n // 2]
    write_artifact(
        path, vectors, [f"m{i:05d}" for i in range(n)], [f"M {i}" for i in range(n)], likes
    )
    below = make_app(path, ANN_THRESHOLD=n + 1)
    above = make_app(path, ANN_THRESHOLD=n)
    stores = [app.extensions["sketchrec.model_store"] for app in (below, above)]
    assert stores[0].get().neighbours.ann is None and stores[1].get().neighbours.ann is not None
    folders = glob.glob(f"{path}-*.serving")
    # One sidecar folder on disk; the index file joined it when needed.
    assert folders == [serving_files.folder_of(path, stores[1].get().sha256)]
    exact, approx = (app.test_client() for app in (below, above))
    assert served_recall(exact, approx, range(0, n, 50)) >= 0.95


@pytest.mark.slow
def test_near_tied_lists_served_past_the_threshold_are_the_exact_ones(make_app, tmp_path):
    """Clusters of 1,000 whose top 12 scores span about 0.01, as on fitted vectors: 4-bit codes
    re-scored from 30 candidates per neighbour served recall 0.68 here, all lists probed."""
    path = str(tmp_path / "m.npz")
    n = 40_000
    vectors = near_tied(n, clusters=40, spread=0.3)
    spans = [np.ptp(np.sort(vectors @ vectors[r])[-13:-1]) for r in range(0, n, 400)]
    assert np.median(spans) < 0.02  # the top 12 of a row nearly tie
    likes = sp.identity(n, dtype=np.float32, format="csr")[: n // 2]
    write_artifact(
        path, vectors, [f"m{i:05d}" for i in range(n)], [f"M {i}" for i in range(n)], likes
    )
    exact, approx = (make_app(path, ANN_THRESHOLD=t).test_client() for t in (n + 1, n))
    assert served_recall(exact, approx, range(0, n, 400)) >= 0.95
    neighbours = approx.get("/healthz").get_json()["model"]["neighbours"]
    assert neighbours["search"] == "approximate" and neighbours["recall"] >= 0.97


@pytest.mark.parametrize("in_child", [False, True])
def test_bad_content_is_refused_in_one_line_and_leaves_no_serving_folder(
    tmp_path, monkeypatch, in_child
):
    path = str(tmp_path / "bad.npz")
    factors = np.array([[1, 0], [np.nan, 0], [0, 1]], np.float32)
    write_artifact(path, factors, ["a", "b", "c"], list("ABC"), np.eye(2, 3, dtype=np.float32))
    if in_child:  # the build a large artifact gets: `python -m training index` in a subprocess
        monkeypatch.setattr(serving_files, "IN_PROCESS_MODELS", 0)
    with pytest.raises(BadInput) as error:
        Catalog.open(path, file_sha256(path))
    assert str(error.value) == f"{path}: item_factors has NaN or infinite values"
    assert not glob.glob(f"{path}-*.serving")


def _clustered_artifact(path, n=2000):
    vectors = clustered(n, random_state=2)
    likes = np.eye(n, dtype=np.float32)[: n // 2]
    mids = [f"m{i:05d}" for i in range(n)]
    write_artifact(path, vectors, mids, [f"M {i}" for i in range(n)], likes)


def test_healthz_shows_the_calibrated_recall_of_the_index(make_app, tmp_path, monkeypatch):
    monkeypatch.setattr(ann_index, "CPU_BUDGET", float("inf"))
    path = str(tmp_path / "m.npz")
    _clustered_artifact(path)
    neighbours = make_app(path, ANN_THRESHOLD=2000).test_client().get("/healthz").json
    neighbours = neighbours["model"]["neighbours"]
    assert neighbours["search"] == "approximate"
    assert ann_index.TARGET_RECALL <= neighbours["recall"] <= 1 and neighbours["candidates"] > 0
    below = make_app(path, ANN_THRESHOLD=2001).test_client().get("/healthz").json
    assert below["model"]["neighbours"] == {"search": "exact", "recall": 1.0}


def test_an_index_that_cannot_pay_serves_exact_and_says_so(make_app, tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(ann_index, "CPU_BUDGET", 0.0)  # no setting can be cheaper than this
    path = str(tmp_path / "m.npz")
    _clustered_artifact(path)
    with caplog.at_level("WARNING", logger="webapp.serving.model_store"):
        app = make_app(
            path,
            ANN_THRESHOLD=2000,
            ADMIN_PASSWORD_HASH=generate_password_hash("s3cret"),
            JOBS_DIR=str(tmp_path / "jobs"),
        )
        client = app.test_client()
        assert app.extensions["sketchrec.model_store"].get().neighbours.ann is None
    [line] = [r.getMessage() for r in caplog.records if "exact neighbours" in r.getMessage()]
    assert "no approximate setting reached" in line
    folder = serving_files.folder_of(path, file_sha256(path))
    assert not glob.glob(f"{folder}/*.faiss")  # nothing below the target is kept to serve
    neighbours = client.get("/healthz").json["model"]["neighbours"]
    assert neighbours["search"] == "exact" and neighbours["fallback"] is True
    assert "/" not in str(neighbours)
    page = client.get("/admin", auth=("admin", "s3cret")).get_data(as_text=True)
    assert "so the exact search serves" in page
    exact = client.get("/api/models/m00007/similar?k=10").json["similar"]
    vectors = clustered(2000, random_state=2)
    rows, _ = similar_rows(vectors, np.ones(2000, np.float32), 1.0, 7, 10)
    assert [m["mid"] for m in exact] == [f"m{r:05d}" for r in rows]
