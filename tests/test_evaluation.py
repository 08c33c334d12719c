"""Scoring a checkpoint on a split: popularity baseline, NaN when diverged, test users only."""

import numpy as np
import pytest

from training import metrics
from training.evaluation import Evaluation
from training.split import Split

from tests.training_helpers import csr


def small_split():
    """Four users, six models; users 0 and 2 are tested."""
    train = csr([[0, 1], [0, 1, 2], [0, 3], [0, 1, 2, 4]], (4, 6))
    test = csr([[2], [], [5], []], (4, 6))
    return Split(train=train, test=test, users=np.array([0, 2]))


def test_popularity_baseline_hand_computed():
    # Train likes per model over all users: 4, 3, 2, 1, 1, 0.
    np.testing.assert_array_equal(
        metrics.popularity_scores(small_split().train), [4, 3, 2, 1, 1, 0]
    )
    # User 0 (liked 0, 1) is offered model 2: a test hit. User 2 (liked 0, 3) is
    # offered model 1; its test like is 5: a miss.
    assert Evaluation(small_split(), k=1).popularity_patk() == 0.5


def test_evaluation_reports_nan_for_non_finite_factors():
    ev = Evaluation(small_split(), k=2)
    x = np.ones((4, 2), dtype=np.float32)
    y = np.ones((6, 2), dtype=np.float32)
    assert not np.isnan(ev(3, x, y).mse_test)
    x[2, 1] = np.inf
    checkpoint = ev(3, x, y)
    assert checkpoint.epoch == 3
    assert all(
        np.isnan(v)
        for v in (
            checkpoint.patk_train,
            checkpoint.patk_test,
            checkpoint.mse_train,
            checkpoint.mse_test,
        )
    )


def test_evaluation_scores_only_the_test_users():
    ev = Evaluation(small_split(), k=1)
    x = np.zeros((4, 1), dtype=np.float32)
    x[[0, 2]] = 1.0
    y = np.array([[0], [0], [3], [0], [0], [9]], dtype=np.float32)
    checkpoint = ev(1, x, y)
    # Both test users rank model 5 first: a test hit for user 2 only; no train hit.
    assert (checkpoint.patk_train, checkpoint.patk_test) == (0.0, 0.5)
    # MSE over the 2 x 6 cells of the test users' rows against their train likes:
    # predictions [0, 0, 3, 0, 0, 9]; user 0 liked models 0, 1 and user 2 models 0, 3.
    want_train = ((1 + 1 + 9 + 81) + (1 + 9 + 1 + 81)) / 12
    assert checkpoint.mse_train == pytest.approx(want_train, rel=1e-12)


def test_popularity_simk_hand_computed():
    # Train likes per model: 4, 3, 2, 1, 1, 0. User 0 (liked 0, 1) is offered
    # models 2, 3 at sim_k 2: its test like 2 is found. User 2 (liked 0, 3) is
    # offered 1, 2: its test like 5 is not. One of two held-out likes.
    assert Evaluation(small_split(), k=1, sim_k=2).popularity_simk() == 0.5


def test_queries_are_train_likes_drawn_once_per_seed():
    split = small_split()
    first = Evaluation(split, k=1, seed=7).queries
    assert all(split.train[u, q] for u, q in zip(split.users, first, strict=True))
    np.testing.assert_array_equal(Evaluation(split, k=1, seed=7).queries, first)
    draws = {tuple(Evaluation(split, k=1, seed=s).queries) for s in range(20)}
    assert len(draws) == 4  # 2 likes of user 0 x 2 of user 2: every pair comes up


def test_checkpoint_has_simk_per_exponent():
    split = small_split()
    ev = Evaluation(split, k=1, sim_k=1, exponents=(1.0, 0.0), seed=0)
    # User 2's queries (models 0, 3) point along x, as its short test like 5
    # does; model 4 is long and a little aside. User 0's test like 2 points
    # along y, away from both its queries (0, 1).
    y = np.array([[1, 0], [1, 0.1], [0, 1], [1, 0], [30, 10], [0.5, 0]], dtype=np.float32)
    checkpoint = ev(1, np.ones((4, 2), dtype=np.float32), y)
    # Cosine: user 2 is offered model 5 (cosine 1): a hit; exponent 0: model 4, a miss.
    assert checkpoint.simk_test == (0.5, 0.0)
    assert len(checkpoint.simk_train) == 2
    assert all(np.isnan(v) for v in ev.diverged(3).simk_test + ev.diverged(3).simk_train)
