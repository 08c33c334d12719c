"""Similar-models queries and co-likes, against full sorts and set intersections."""

import numpy as np
import pytest

from training.core.neighbours import similar_rows
from training.core.similarity import neighbour_space
from webapp.serving import current_catalog


def query(factors, row, exponent, k):
    vectors, norms = neighbour_space(factors, exponent)
    return similar_rows(vectors, norms, exponent, row, k)


@pytest.mark.parametrize("n, k", [(2000, 25), (2000, 100), (30, 10), (5, 4)])
@pytest.mark.parametrize("exponent", [1.0, 0.5, 0.0])
def test_top_k_matches_a_full_sort_of_the_score(n, k, exponent):
    rng = np.random.default_rng(n)
    y = rng.normal(size=(n, 40)) * rng.uniform(0.1, 5.0, size=(n, 1))
    norms = np.linalg.norm(y, axis=1)
    for row in (0, 3, n - 1):
        rows, scores = query(y, row, exponent, k)
        full = y @ y[row] / (norms[row] * norms**exponent)
        full[row] = -np.inf
        expected = np.argsort(-full, kind="stable")[:k]
        assert rows.tolist() == expected.tolist()
        np.testing.assert_allclose(scores, full[expected], rtol=1e-5)


def test_exponent_one_is_exactly_the_cosine_of_unit_vectors():
    y = np.random.default_rng(0).normal(size=(500, 40)).astype(np.float32)
    unit = y / np.linalg.norm(y, axis=1, keepdims=True)
    rows, scores = query(y, 7, 1.0, 20)
    cosines = unit @ unit[7]
    np.testing.assert_array_equal(scores, cosines[rows])


def test_a_lower_exponent_lifts_long_vectors():
    # Model 1 points along the query, model 2 a little aside but 10x longer.
    y = np.array([[1.0, 0.0], [1.0, 0.0], [10.0, 3.0]])
    assert query(y, 0, 1.0, 1)[0].tolist() == [1]
    assert query(y, 0, 0.0, 1)[0].tolist() == [2]
    np.testing.assert_allclose(query(y, 0, 0.0, 2)[1], [10.0, 1.0])


def test_equal_scores_are_ordered_by_row():
    rows, scores = query(np.array([[1.0, 0.0]] * 100), 50, 0.5, 10)
    assert len(rows) == 10 and 50 not in rows.tolist()
    assert rows.tolist() == sorted(rows.tolist()) and np.all(scores == scores[0])


@pytest.mark.parametrize("exponent", [1.0, 0.5, 0.0])
def test_zero_vectors_score_zero_not_nan(exponent):
    y = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
    rows, scores = query(y, 0, exponent, 2)
    assert np.all(scores == 0) and len(rows) == 2
    assert np.isfinite(query(y, 1, exponent, 2)[1]).all()


def test_co_likes_match_set_intersections(app):
    catalog = current_catalog()  # pytest-flask pushes a request context of ``app``
    likes = catalog.likes_by_model
    users = [set(likes.indices[likes.indptr[r] : likes.indptr[r + 1]]) for r in range(len(catalog))]
    for row in range(0, len(catalog), 37):
        for item in catalog.similar(row, 20):
            assert item["co_likes"] == len(users[row] & users[catalog.row(item["mid"])])
