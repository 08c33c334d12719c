"""Scoring a checkpoint on a split: popularity baseline, NaN when diverged, test users only."""

import numpy as np
import pytest

from training import metrics
from training.evaluation import Evaluation
from training.split import Split

from training_helpers import csr


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
