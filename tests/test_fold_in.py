"""Folding users into a fitted model, against ``implicit``'s own user step."""

import numpy as np
import pytest
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares
from threadpoolctl import threadpool_limits

from training import demo
from training.confidence import confidence
from training.core import fold_in
from training.core.fold_in import item_gram
from training.core.likes import read_likes
from training.core.prepare import prepare

REGULARIZATION, ALPHA = 0.1, 50.0


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """``(implicit model, likes, confidence)``: demo likes fitted by ``implicit`` as we fit them."""
    path = str(tmp_path_factory.mktemp("fold_in") / "likes.psv")
    demo.write_demo(path, seed=2, users=500, models=250)
    likes = prepare(read_likes(path)).likes
    c = confidence(likes, ALPHA)
    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(
            factors=12, regularization=REGULARIZATION, alpha=1.0, iterations=8, random_state=0
        )
        model.fit(c, show_progress=False)
    return model, likes, c


def test_user_vectors_match_implicits_recalculate_user(fitted):
    model, likes, c = fitted
    users = np.arange(0, likes.shape[0], 7)
    y = model.item_factors
    ours = fold_in.user_vectors(y, item_gram(y), c[users], REGULARIZATION)
    theirs = model.recalculate_user(users, c[users])
    np.testing.assert_allclose(ours, theirs, atol=1e-4)
    assert np.abs(theirs).max() > 0.1  # the comparison is not between near-zero vectors


def test_recommend_matches_implicits_recommend_with_recalculate_user(fitted):
    """Hearts are likes with d = 1, so c = 1 + alpha as in the confidence matrix."""
    model, likes, c = fitted
    y = model.item_factors
    gram = item_gram(y)
    for user in range(0, likes.shape[0], 50):
        liked = likes[user].indices
        ours = fold_in.recommend(y, gram, liked, 10, REGULARIZATION, ALPHA)
        ids, scores = model.recommend(
            user, c[user], N=10, filter_already_liked_items=True, recalculate_user=True
        )
        np.testing.assert_array_equal(ours.rows, ids)
        np.testing.assert_allclose(ours.scores, scores, atol=1e-4)


def test_recommend_leaves_out_the_liked_and_orders_by_score(fitted):
    model, likes, _ = fitted
    y = model.item_factors
    liked = likes[3].indices
    found = fold_in.recommend(y, item_gram(y), liked, 50, REGULARIZATION, ALPHA)
    assert len(found.rows) == 50 and not set(found.rows) & set(liked)
    assert np.all(np.diff(found.scores) <= 0)
    assert set(found.because) <= set(liked)


def test_because_is_the_largest_term_of_the_score(fitted):
    """Hu et al. section 5: y_j . x = sum_i c_i y_j^T W y_i, with W = (Y^T C Y + lambda I)^-1."""
    model, likes, _ = fitted
    y = model.item_factors.astype(np.float64)
    liked = likes[11].indices
    found = fold_in.recommend(model.item_factors, item_gram(y), liked, 20, REGULARIZATION, ALPHA)
    c = 1 + ALPHA
    a = y.T @ y + (c - 1) * y[liked].T @ y[liked] + REGULARIZATION * np.eye(y.shape[1])
    terms = c * y[found.rows] @ np.linalg.inv(a) @ y[liked].T  # [k, liked]
    np.testing.assert_allclose(terms.sum(axis=1), found.scores, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(found.because, liked[terms.argmax(axis=1)])
    assert len(set(found.because)) > 1  # different liked models explain different picks


def test_because_names_the_nearest_liked_item_in_a_clear_case():
    # Two liked directions; each candidate leans towards one of them.
    y = np.array([[1, 0], [0, 1], [0.9, 0.1], [0.1, 0.8], [-1, 0]], dtype=np.float32)
    found = fold_in.recommend(y, item_gram(y), [0, 1], 2, 0.1, 10.0)
    assert found.rows.tolist() == [2, 3]
    assert found.because.tolist() == [0, 1]


def test_k_is_capped_and_no_likes_recommend_nothing():
    y = np.eye(3, dtype=np.float32)
    assert fold_in.recommend(y, item_gram(y), [0, 1], 10, 0.1, 1.0).rows.tolist() == [2]
    assert len(fold_in.recommend(y, item_gram(y), [], 10, 0.1, 1.0).rows) == 0
    assert len(fold_in.recommend(y, item_gram(y), [0, 1, 2], 10, 0.1, 1.0).rows) == 0


def test_a_user_without_likes_folds_in_as_zero():
    y = np.eye(3, dtype=np.float32)
    empty = sp.csr_matrix((2, 3), dtype=np.float32)
    assert not fold_in.user_vectors(y, item_gram(y), empty, 0.1).any()
