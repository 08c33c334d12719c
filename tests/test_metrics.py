"""p@k and MSE: tiny hand-computed cases, brute force on random ones, the popularity baseline."""

import numpy as np
import pytest
import scipy.sparse as sp

from training import metrics
from training.core.fold_in import item_gram

from tests.training_helpers import csr


def brute_precision(x, y, relevant, k, exclude=None):
    """The post's way: dense scores, argsort per user, set intersection."""
    scores = x @ y.T
    if exclude is not None:
        scores[exclude.toarray() != 0] = -np.inf
    relevant = relevant.toarray()
    return np.mean(
        [
            len(set(np.argsort(-s)[:k]) & set(np.flatnonzero(r))) / k
            for s, r in zip(scores, relevant, strict=False)
        ]
    )


def test_precision_hand_computed():
    # User 0 ranks models 0 > 1 > 2 > 3, user 1 the reverse.
    x = np.array([[1.0], [-1.0]])
    y = np.array([[4.0], [3.0], [2.0], [1.0]])
    train = csr([[0], [3]], (2, 4))
    test = csr([[2], [0]], (2, 4))
    # Train top 2: {0, 1} and {3, 2}: one hit each -> 0.5.
    # Test top 2 without train likes: {1, 2} (hit 2) and {2, 1} (no hit) -> 0.25;
    # ranking all models would give user 0 {0, 1}: no hit.
    assert metrics.precision_at_k(x, y, train, test, k=2) == (0.5, 0.25)


@pytest.mark.parametrize(
    "seed, users, models, k, batch, workers",
    [(0, 50, 40, 5, None, 2), (1, 37, 333, 3, 4, 2), (2, 10, 97, 7, 3, 1), (3, 200, 900, 5, 64, 2)],
)
def test_precision_equals_brute_force(seed, users, models, k, batch, workers):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((users, 6)).astype(np.float32)
    y = rng.standard_normal((models, 6)).astype(np.float32)
    liked = sp.random(users, models, density=0.2, random_state=seed, format="csr")
    moved = sp.random(users, models, density=0.1, random_state=seed + 100, format="csr")
    train = liked - liked.multiply(moved != 0)
    train.eliminate_zeros()
    test = (moved != 0).astype(np.float64) - (liked != 0).multiply(moved != 0)
    test.eliminate_zeros()
    got = metrics.precision_at_k(x, y, train, test, k, batch=batch, workers=workers)
    want = (brute_precision(x, y, train, k), brute_precision(x, y, test, k, exclude=train))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_mse_hand_computed():
    x = np.array([[1.0, 0.0]])
    y = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 0.0]])
    observed = sp.csr_matrix(np.array([[1.0, 0.0, 1.0]]))
    # Predictions 1, 0, 2: errors 0, 0, 1 over 3 cells.
    assert metrics.mse(x, y, observed) == pytest.approx(1 / 3, rel=1e-15)


@pytest.mark.parametrize("seed, scale", [(0, 1.0), (1, 0.01), (2, 30.0), (3, 1.0), (4, 1000.0)])
def test_closed_form_mse_equals_brute_force(seed, scale):
    rng = np.random.default_rng(seed)
    users, models, f = rng.integers(1, 60), rng.integers(1, 90), rng.integers(1, 25)
    x = (rng.standard_normal((users, f)) * scale).astype(np.float32)
    y = (rng.standard_normal((models, f)) * scale).astype(np.float32)
    observed = sp.random(users, models, density=0.15, random_state=seed, format="csr")
    observed.data = rng.integers(1, 4, size=observed.nnz).astype(np.float64)
    dense = observed.toarray() - x.astype(np.float64) @ y.astype(np.float64).T
    brute = np.mean(dense**2)
    closed = metrics.mse(x, y, observed)
    assert abs(closed - brute) / brute < 1e-9, (closed, brute)
    gram = item_gram(y)
    assert metrics.mse(x, y, observed, gram) == closed


def brute_top(y, q, excluded, k, exponent):
    """The top k models for query ``q`` by a sort of every score, without ``excluded``."""
    norms = np.linalg.norm(y, axis=1)
    scores = y @ y[q] / (norms[q] * np.where(norms > 0, norms, 1.0) ** exponent)
    return [j for j in np.argsort(-scores, kind="stable") if j not in excluded][:k]


def brute_simk(y, queries, train, test, k, exponent):
    """One list per user by a loop: scores, the user's exclusions, argsort, counting."""
    norms = np.linalg.norm(y, axis=1)
    train, test = train.toarray() != 0, test.toarray() != 0
    hits_train = hits_test = 0
    for user, q in enumerate(queries):
        scores = np.array(
            [
                0.0 if norms[j] == 0 else y[q] @ y[j] / (norms[q] * norms[j] ** exponent)
                for j in range(len(y))
            ]
        )
        everything_but_q = [j for j in np.argsort(-scores, kind="stable") if j != q]
        unliked = [j for j in everything_but_q if not train[user, j]]
        hits_train += sum(train[user, j] for j in everything_but_q[:k])
        hits_test += sum(test[user, j] for j in unliked[:k])
    return hits_train / (train.sum() - len(queries)), hits_test / test.sum()


def test_simk_hand_computed():
    # Query model 0 points along x; model 1 is a long vector at 45 degrees,
    # model 2 a short one at 10 degrees, model 3 the other way.
    y = np.array([[1.0, 0.0], [3.0, 3.0], [0.1, 0.0176], [-1.0, 0.0]])
    train = csr([[0]], (1, 4))
    test = csr([[1]], (1, 4))
    # Cosine: 2 (0.98) before 1 (0.71): the test like is missed at k = 1.
    # Exponent 0: 1 (3.0) before 2 (0.1): found.
    got_train, got_test = metrics.similar_list_recall(y, np.array([0]), train, test, 1, [1, 0])
    np.testing.assert_array_equal(got_test, [0.0, 1.0])
    np.testing.assert_array_equal(got_train, [0.0, 0.0])  # no train like but the query


def test_simk_lists_can_hold_only_negative_scores():
    # Both other models point away from the query; a list of 2 must hold them
    # (not the zero scores top_k's padding would have).
    y = np.array([[1.0, 0.0], [-1.0, 0.5], [-1.0, -0.2]])
    train, test = csr([[0]], (1, 3)), csr([[2]], (1, 3))
    got = metrics.similar_list_recall(y, np.array([0]), train, test, 2, [1.0, 0.0])
    np.testing.assert_array_equal(got[1], [1.0, 1.0])


@pytest.mark.parametrize(
    "seed, users, models, k, batch, workers",
    [
        (0, 50, 40, 5, None, 2),
        (1, 37, 333, 3, 4, 2),
        (2, 10, 97, 7, 3, 1),
        (3, 120, 500, 10, 64, 2),
    ],
)
def test_simk_equals_brute_force(seed, users, models, k, batch, workers):
    rng = np.random.default_rng(seed)
    y = rng.standard_normal((models, 6)) * rng.uniform(0.1, 3.0, size=(models, 1))
    zero = rng.integers(models)
    y[zero] = 0.0  # a model the factors know nothing about scores 0 (never a query: all ties)
    liked = sp.random(users, models, density=0.2, random_state=seed, format="csr") != 0
    moved = sp.random(users, models, density=0.1, random_state=seed + 100, format="csr") != 0
    train = sp.csr_matrix(liked.astype(np.float64) - liked.multiply(moved))
    train.eliminate_zeros()
    test = sp.csr_matrix(moved.astype(np.float64) - liked.multiply(moved))
    test.eliminate_zeros()
    candidates = [np.setdiff1d(train[u].indices, [zero]) for u in range(users)]
    keep = np.array([len(c) > 0 for c in candidates])
    train, test = train[keep], test[keep]
    queries = np.array([rng.choice(c) for c in candidates if len(c)])
    exponents = [1.0, 0.5, 0.0, 2.0]
    got = metrics.similar_list_recall(
        y, queries, train, test, k, exponents, batch=batch, workers=workers
    )
    want = np.array([brute_simk(y, queries, train, test, k, e) for e in exponents]).T
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1])
def test_simk_is_exact_when_every_score_is_negative(seed):
    # Every model but the query points away from it, with lengths spread over
    # six decades (so each group's length weights differ a lot): the best
    # scores are the least negative. The test likes are the true top 3.
    rng = np.random.default_rng(seed)
    models = 320
    y = rng.standard_normal((models, 4))
    y /= np.linalg.norm(y, axis=1, keepdims=True)
    y[:, 0] = -np.abs(y[:, 0]) - 0.05
    y *= 10 ** rng.uniform(-3, 3, size=(models, 1))
    y[0] = [1.0, 0.0, 0.0, 0.0]
    train = csr([[0]], (1, models))
    for exponent in (1.0, 0.5, 0.0):
        top = brute_top(y, 0, {0}, 3, exponent)
        test = csr([top], (1, models))
        got = metrics.similar_list_recall(y, np.array([0]), train, test, 3, [exponent])
        assert got[1][0] == 1.0
