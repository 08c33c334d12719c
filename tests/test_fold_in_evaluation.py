"""Fold-in quality on held-out demo users: close to trained users, far above popularity."""

import pytest
import scipy.sparse as sp

from training.core.likes import read_likes
from training.core.params import Params
from training.core.prepare import prepare
from training.fold_in_evaluation import _without_rows, evaluate_fold_in
from training.search import SplitSettings


@pytest.fixture(scope="module")
def report(small_likes):
    likes = prepare(read_likes(str(small_likes))).likes
    report = evaluate_fold_in(likes, Params(16, 0.1, 50.0), 10, SplitSettings(), few=3)
    assert report.test_users == int(0.2 * likes.shape[0])  # the reference split's test users
    return report


def test_folded_in_users_score_close_to_trained_ones(report):
    assert report.k == 5 and report.few == 3
    assert report.folded >= 0.85 * report.trained
    assert report.folded <= 1.15 * report.trained


def test_three_likes_beat_popularity(report):
    assert report.folded_few > 2 * report.popularity
    assert report.folded_few <= report.folded * 1.1


def test_the_report_table_has_the_four_rows(report):
    text = "\n".join(report.lines())
    assert text.startswith(f"Test users: {report.test_users}\n")
    for label in ("trained", "folded in", "folded in, 3 likes", "popularity"):
        assert f" {label} " in text


def test_without_rows_empties_only_those_rows():
    likes = sp.csr_matrix([[1, 0, 2], [0, 3, 0], [4, 5, 0]], dtype=float)
    kept = _without_rows(likes, [1])
    assert kept.shape == likes.shape and kept.nnz == 4
    assert kept[1].nnz == 0 and (kept[[0, 2]] != likes[[0, 2]]).nnz == 0
