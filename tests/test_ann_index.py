"""Approximate neighbours: recall on clustered vectors, exact scores, calibration saved."""

import numpy as np
import pytest

from training.core import ann_index
from training.core.neighbours import similar_rows

from training_helpers import clustered


def recall_at_10(index, vectors, rows):
    hits = []
    for row in rows:
        approx, _ = ann_index.similar_rows(index, vectors, vectors[row], row, 10)
        exact, _ = similar_rows(vectors, np.ones(len(vectors), np.float32), 1.0, row, 10)
        hits.append(len(np.intersect1d(approx, exact)) / 10)
    return float(np.mean(hits))


def test_recall_at_10_on_clustered_vectors_reaches_the_target(tmp_path):
    vectors = clustered(6000)
    index, calibrated = ann_index.build(vectors)
    assert calibrated >= ann_index.TARGET_RECALL and 1 < index.nprobe < index.nlist
    path = str(tmp_path / "a.faiss")
    ann_index.save(index, path)
    loaded = ann_index.load(path)
    assert loaded.nprobe == index.nprobe  # the calibration travels with the file
    assert recall_at_10(loaded, vectors, range(0, 6000, 29)) >= 0.95


@pytest.mark.parametrize("factors", [15, 40])
def test_odd_and_even_factor_counts_both_reach_the_target(factors):
    vectors = clustered(3000, factors=factors, random_state=2)
    _, calibrated = ann_index.build(vectors)
    assert calibrated >= ann_index.TARGET_RECALL


def test_scores_are_the_exact_ones_best_first_without_the_row():
    vectors = clustered(3000, random_state=1)
    index, _ = ann_index.build(vectors)
    for row in (0, 17, 2999):
        rows, scores = ann_index.similar_rows(index, vectors, vectors[row], row, 10)
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
