"""Similar-models queries and co-likes, against full sorts and set intersections."""

import numpy as np
import pytest

from training.core import ann_index, similarity
from training.core.neighbours import NeighbourIndex, similar_rows
from training.core.similarity import neighbour_space
from webapp.serving import current_catalog

from tests.training_helpers import clustered


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


@pytest.mark.parametrize("exponent", [1.0, 0.5])
def test_one_index_answers_exactly_or_through_its_approximate_index(exponent, monkeypatch):
    monkeypatch.setattr(ann_index, "CPU_BUDGET", float("inf"))  # 1,500 models: exact is cheaper
    y = clustered(3000, random_state=3) * np.random.default_rng(3).uniform(0.5, 2.0, (3000, 1))
    vectors, norms = neighbour_space(y, exponent)
    exact = NeighbourIndex(vectors, norms, exponent)
    # An approximate index over the first half only: its answers must come from that half.
    half = NeighbourIndex(vectors, norms, exponent, ann_index.build(vectors[:1500])[0])
    for row in range(0, 3000, 101):
        rows, scores = exact.similar(row, 10)
        expected = similar_rows(vectors, norms, exponent, row, 10)
        assert rows.tolist() == expected[0].tolist() and np.array_equal(scores, expected[1])
        found, found_scores = half.similar(row, 10)
        assert row not in found.tolist() and found.max() < 1500 and len(found) == 10
        full = vectors @ similarity.query(vectors, norms, row, exponent)
        np.testing.assert_allclose(found_scores, full[found], rtol=1e-5)
    assert any(exact.similar(row, 10)[0].max() >= 1500 for row in range(0, 3000, 101))
