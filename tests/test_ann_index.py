"""Approximate neighbours: recall on clustered and near-tied vectors, exact scores, the
calibration of nprobe and candidates saved, the exact search when no setting pays."""

import faiss
import numpy as np
import psutil
import pytest

from training.core import ann_index
from training.core.neighbours import similar_rows

from tests.training_helpers import clustered, near_tied


@pytest.fixture(autouse=True)
def no_cpu_budget(monkeypatch):
    """Small catalogues are cheaper to search exactly: lift the budget to test recall alone."""
    monkeypatch.setattr(ann_index, "CPU_BUDGET", float("inf"))


def recall_at_10(approximate, vectors, rows):
    hits = []
    for row in rows:
        approx, _ = ann_index.similar_rows(approximate, vectors, vectors[row], row, 10)
        exact, _ = similar_rows(vectors, np.ones(len(vectors), np.float32), 1.0, row, 10)
        hits.append(len(np.intersect1d(approx, exact)) / 10)
    return float(np.mean(hits))


def test_recall_at_10_on_clustered_vectors_reaches_the_target(tmp_path):
    vectors = clustered(6000)
    approximate, calibration = ann_index.build(vectors)
    assert calibration.approximate and calibration.recall >= ann_index.TARGET_RECALL
    assert 1 < approximate.index.nprobe < approximate.index.nlist
    path = str(tmp_path / "a.faiss")
    ann_index.save(approximate, path)
    calibration.save(str(tmp_path / "a.json"))
    saved = ann_index.Calibration.load(str(tmp_path / "a.json"))
    loaded = ann_index.load(path, saved.refine)
    assert saved == calibration and loaded.refine == approximate.refine
    assert loaded.index.nprobe == approximate.index.nprobe  # nprobe travels with the file
    # The lists are searched in place from the file's pages, which every worker shares
    # (not copied, nor wrapped in faiss's on-disk lists, which searched 12x slower).
    assert type(faiss.downcast_InvertedLists(loaded.index.invlists)) is faiss.ArrayInvertedLists
    assert path in {m.path for m in psutil.Process().memory_maps()}
    assert recall_at_10(loaded, vectors, range(0, 6000, 29)) >= 0.95


@pytest.mark.parametrize("factors", [15, 40])
def test_odd_and_even_factor_counts_both_reach_the_target(factors):
    vectors = clustered(3000, factors=factors, random_state=2)
    _, calibration = ann_index.build(vectors)
    assert calibration.recall >= ann_index.TARGET_RECALL


def test_scores_are_the_exact_ones_best_first_without_the_row():
    vectors = clustered(3000, random_state=1)
    approximate, _ = ann_index.build(vectors)
    for row in (0, 17, 2999):
        rows, scores = ann_index.similar_rows(approximate, vectors, vectors[row], row, 10)
        assert row not in rows.tolist() and len(rows) == 10
        assert np.allclose(scores, vectors[rows] @ vectors[row], atol=1e-6)
        assert np.all(np.diff(scores) <= 0)


def test_near_tied_vectors_reach_the_target_with_few_candidates():
    vectors = near_tied(12_000)
    approximate, calibration = ann_index.build(vectors)
    assert calibration.approximate and calibration.recall >= ann_index.TARGET_RECALL
    rows = range(1, 12_000, 97)  # not the calibration's sample alone
    assert recall_at_10(approximate, vectors, rows) >= 0.95
    # The 8-bit codes order near ties (4-bit fast-scan codes needed 100 candidates and more).
    assert calibration.refine <= 10


def test_no_setting_within_the_budget_means_the_exact_search(monkeypatch):
    monkeypatch.setattr(ann_index, "CPU_BUDGET", 0.0)
    approximate, calibration = ann_index.build(clustered(3000))
    assert approximate is None and not calibration.approximate
    assert calibration.report()["search"] == "exact" and "exact neighbours" in calibration.summary()


@pytest.mark.parametrize(
    "n, lists", [(100, 2), (10_000, 256), (1_000_000, 8192), (5_000_000, 16384)]
)
def test_list_count_grows_with_the_square_root(n, lists):
    assert ann_index.list_count(n) == lists


def test_probe_steps_go_up_by_half_powers_of_two_and_end_at_all_lists():
    assert ann_index.probe_steps(16) == [1, 2, 3, 4, 6, 8, 12, 16]
    assert ann_index.probe_steps(1) == [1]


def test_a_fast_scan_file_of_earlier_builds_still_loads_and_answers(tmp_path):
    vectors = clustered(3000, random_state=5)
    quantizer = faiss.IndexFlatIP(16)
    earlier = faiss.IndexIVFPQFastScan(quantizer, 16, 32, 8, 4, faiss.METRIC_INNER_PRODUCT)
    earlier.train(vectors)
    earlier.add(vectors)
    earlier.nprobe = 8
    path = str(tmp_path / "neighbours.faiss")
    faiss.write_index(earlier, path)
    loaded = ann_index.load(path, 30)
    rows, scores = ann_index.similar_rows(loaded, vectors, vectors[0], 0, 10)
    assert len(rows) == 10 and 0 not in rows.tolist()
    assert np.allclose(scores, vectors[rows] @ vectors[0], atol=1e-6)


def test_the_cheapest_setting_reaching_the_target_is_kept(monkeypatch):
    """Of the settings that reach the target, the one of least CPU per query, not the best
    recall; when none does, the best recall seen is reported and the exact search serves."""
    # (recall, cpu_ms, nprobe, refine) as _settings yields them
    tried = [(0.90, 0.1, 1, 1), (0.99, 0.9, 8, 1), (0.975, 0.3, 2, 3), (0.98, 0.5, 4, 1)]
    monkeypatch.setattr(ann_index, "_exact", lambda vectors, rows, k: ([], 1.0))
    monkeypatch.setattr(ann_index, "_settings", lambda *args: iter(tried))
    index = type("Lists", (), {"nlist": 16})()
    vectors = clustered(100)
    chosen = ann_index.calibrate(index, vectors, np.random.default_rng(0), 0.97)
    assert chosen.approximate and (chosen.nprobe, chosen.refine) == (2, 3)
    assert (chosen.recall, chosen.cpu_ms, chosen.exact_cpu_ms) == (0.975, 0.3, 1.0)
    monkeypatch.setattr(ann_index, "_settings", lambda *args: iter(tried[:1] + tried[3:]))
    fallback = ann_index.calibrate(index, vectors, np.random.default_rng(0), 0.985)
    assert not fallback.approximate and (fallback.recall, fallback.nprobe) == (0.98, 4)
