"""Similar-models queries and co-likes, against full sorts and set intersections."""

import numpy as np
import pytest

from webapp.serving import current_catalog
from webapp.serving.neighbours import normalise, similar_rows


@pytest.mark.parametrize("n, k", [(2000, 25), (2000, 100), (30, 10), (5, 4)])
def test_top_k_matches_a_full_sort(n, k):
    rng = np.random.default_rng(n)
    unit = normalise(rng.normal(size=(n, 40)))
    for row in (0, 3, n - 1):
        rows, scores = similar_rows(unit, row, k)
        full = unit @ unit[row]
        full[row] = -np.inf
        expected = np.argsort(-full, kind="stable")[:k]
        assert rows.tolist() == expected.tolist()
        assert np.allclose(scores, full[expected])


def test_equal_scores_are_ordered_by_row():
    unit = normalise(np.array([[1.0, 0.0]] * 100))
    rows, scores = similar_rows(unit, 50, 10)
    assert len(rows) == 10 and 50 not in rows.tolist()
    assert rows.tolist() == sorted(rows.tolist()) and np.all(scores == scores[0])


def test_zero_vectors_score_zero_not_nan():
    unit = normalise(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]]))
    rows, scores = similar_rows(unit, 0, 2)
    assert np.all(scores == 0) and len(rows) == 2


def test_co_likes_match_set_intersections(app):
    catalog = current_catalog()  # pytest-flask pushes a request context of ``app``
    likes = catalog.likes_by_model
    users = [set(likes.indices[likes.indptr[r] : likes.indptr[r + 1]]) for r in range(len(catalog))]
    for row in range(0, len(catalog), 37):
        for item in catalog.similar(row, 20):
            assert item["co_likes"] == len(users[row] & users[catalog.row(item["mid"])])
