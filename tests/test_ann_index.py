"""Approximate neighbours: recall, exact scores, the calibration saved and shown, and the exact
search when no setting reaches the target within the budget."""

import json
import logging
import os

import faiss
import numpy as np
import psutil
import pytest
from conftest import write_artifact
from werkzeug.security import generate_password_hash

from training import ann_calibration, ann_index, serving_files
from training.likes import file_sha256
from webapp.serving.neighbours import similar_rows

from training_helpers import clustered

# At a few thousand vectors the exact search costs about what the index does: the CPU budget
# (a share of the exact search's time) is not what these tests are about.
NO_BUDGET = {"budget_share": np.inf}


def recall_at_10(index, calibration, vectors, rows):
    candidates = calibration.settings["candidates"]
    hits = []
    for row in rows:
        approx, _ = ann_index.similar_rows(index, vectors, vectors[row], row, 10, candidates)
        exact, _ = similar_rows(vectors, np.ones(len(vectors), np.float32), 1.0, row, 10)
        hits.append(len(np.intersect1d(approx, exact)) / 10)
    return float(np.mean(hits))


def test_recall_at_10_on_clustered_vectors_reaches_the_target(tmp_path):
    vectors = clustered(6000)
    index, calibration = ann_index.build(vectors, **NO_BUDGET)
    assert calibration.serves and calibration.recall >= ann_index.TARGET_RECALL
    assert 1 < index.nprobe < index.nlist and index.nprobe == calibration.settings["nprobe"]
    path = str(tmp_path / "a.faiss")
    ann_index.save(index, path)
    loaded = ann_index.load(path)
    assert loaded.nprobe == index.nprobe  # the calibration travels with the file
    # The lists are searched in place from the file's pages, which every worker shares
    # (not copied, nor faiss's on-disk lists, which searched 12x slower).
    assert type(faiss.downcast_InvertedLists(loaded.invlists)) is faiss.ArrayInvertedLists
    assert path in {m.path for m in psutil.Process().memory_maps()}
    assert recall_at_10(loaded, calibration, vectors, range(0, 6000, 29)) >= 0.95


@pytest.mark.parametrize("factors", [15, 40])
def test_odd_and_even_factor_counts_both_reach_the_target(factors):
    vectors = clustered(3000, factors=factors, random_state=2)
    _, calibration = ann_index.build(vectors, **NO_BUDGET)
    assert calibration.serves and calibration.recall >= ann_index.TARGET_RECALL


def test_scores_are_the_exact_ones_best_first_without_the_row():
    vectors = clustered(3000, random_state=1)
    index, calibration = ann_index.build(vectors, **NO_BUDGET)
    for row in (0, 17, 2999):
        rows, scores = ann_index.similar_rows(
            index, vectors, vectors[row], row, 10, calibration.settings["candidates"]
        )
        assert row not in rows.tolist() and len(rows) == 10
        assert np.allclose(scores, vectors[rows] @ vectors[row], atol=1e-6)
        assert np.all(np.diff(scores) <= 0)


@pytest.mark.parametrize(
    "n, lists", [(100, 2), (10_000, 256), (1_000_000, 8192), (5_000_000, 16384)]
)
def test_list_count_grows_with_the_square_root(n, lists):
    assert ann_index.list_count(n) == lists


def test_probe_steps_go_up_by_half_powers_of_two_and_end_at_all_lists():
    assert ann_index.probe_steps(16) == [1, 2, 3, 4, 6, 8, 12, 16]
    assert ann_index.probe_steps(1) == [1]


def clustered_artifact(tmp_path, n):
    path = str(tmp_path / "m.npz")
    mids = [f"m{i:05d}" for i in range(n)]
    likes = np.eye(n, dtype=np.float32)[: n // 2]
    write_artifact(path, clustered(n, random_state=3), mids, [f"M {i}" for i in mids], likes)
    return path


def test_an_unreachable_target_serves_exact_and_says_so(make_app, tmp_path, caplog):
    n = 3000
    path = clustered_artifact(tmp_path, n)
    # No index answers in a billionth of the exact search's time: no setting qualifies.
    folder = serving_files.build(path, file_sha256(path), n, budget_share=1e-9)
    assert not os.path.exists(f"{folder}/{serving_files.ANN_FILE}")
    calibration = serving_files.calibration_of(folder)
    assert calibration.search == ann_calibration.EXACT and not calibration.serves
    with caplog.at_level(logging.INFO, logger="webapp.serving.model_store"):
        app = make_app(
            path,
            ANN_THRESHOLD=n,
            ADMIN_PASSWORD_HASH=generate_password_hash("s3cret"),
            JOBS_DIR=str(tmp_path / "jobs"),
        )
    assert app.extensions["sketchrec.model_store"].get().ann is None
    said = [r.getMessage() for r in caplog.records if "no setting" in r.getMessage()]
    assert len(said) == 1 and "within the budget" in said[0]
    client = app.test_client()
    assert client.get("/healthz").get_json()["model"]["neighbours"] == {
        "search": "exact",
        "calibrated_recall": calibration.recall,
        "target_recall": ann_index.TARGET_RECALL,
    }
    page = client.get("/admin", auth=("admin", "s3cret")).get_data(as_text=True)
    assert "exact neighbours: no setting of the IVF index" in page
    listed = client.get("/api/models/m00007/similar").get_json()["similar"]
    vectors = app.extensions["sketchrec.model_store"].get().vectors
    exact, _ = similar_rows(vectors, np.ones(n, np.float32), 1.0, 7, 10)
    assert [s["mid"] for s in listed] == [f"m{r:05d}" for r in exact]


def test_a_target_no_setting_reaches_gives_exact_with_the_best_setting_found():
    vectors = clustered(3000, random_state=4)
    index, calibration = ann_index.build(vectors, target_recall=1.01, **NO_BUDGET)
    assert calibration.search == ann_calibration.EXACT and not calibration.serves
    assert calibration.recall > 0.97 and calibration.settings["nprobe"] <= index.nlist
    assert "best: " in calibration.describe() and "lists probed" in calibration.describe()


def test_an_index_calibrated_below_its_target_never_serves(tmp_path):
    n = 3000
    path = clustered_artifact(tmp_path, n)
    folder = serving_files.build(path, file_sha256(path), n, **NO_BUDGET)
    assert serving_files.load_ann(folder)[0] is not None
    saved = f"{folder}/{serving_files.CALIBRATION_FILE}"
    with open(saved) as f:
        record = json.load(f)
    ann_calibration.save(
        ann_calibration.Calibration(**{**record, "recall": 0.9}), saved
    )  # what an index that missed its target would have recorded
    index, calibration = serving_files.load_ann(folder)
    assert index is None and calibration.health()["search"] == ann_calibration.EXACT


def test_a_folder_indexed_before_calibrations_were_saved_is_indexed_again(tmp_path):
    n = 3000
    path = clustered_artifact(tmp_path, n)
    sha256 = file_sha256(path)
    folder = serving_files.build(path, sha256, n, **NO_BUDGET)
    os.remove(f"{folder}/{serving_files.CALIBRATION_FILE}")  # as a build before them left it
    serving_files.build(path, sha256, n, **NO_BUDGET)
    index, calibration = serving_files.load_ann(folder)
    assert calibration.serves and index.nprobe == calibration.settings["nprobe"]
