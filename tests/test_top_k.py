"""The shared top-k routine: exact on random scores and when the best share a group."""

import numpy as np
import pytest

from training import metrics


@pytest.mark.parametrize("columns, k", [(32 * 5, 5), (32 * 40, 5), (32 * 9, 1), (32 * 12, 12)])
def test_top_k_finds_the_largest(columns, k):
    rng = np.random.default_rng(columns + k)
    scores = rng.permutation(columns * 6).reshape(6, columns).astype(np.float32)
    before = scores.copy()
    top = metrics.top_k(scores, k)
    np.testing.assert_array_equal(
        np.sort(top, axis=1), np.sort(np.argsort(-scores, axis=1)[:, :k], axis=1)
    )
    np.testing.assert_array_equal(scores, before)


def test_top_k_when_the_best_share_a_group():
    # 160 columns make 5 groups, column c in group c mod 5: the top 5 all sit in group 0.
    scores = np.zeros((1, 160), dtype=np.float32)
    scores[0, [0, 5, 10, 15, 20]] = [5, 4, 3, 2, 1]
    assert sorted(metrics.top_k(scores, 5)[0]) == [0, 5, 10, 15, 20]
