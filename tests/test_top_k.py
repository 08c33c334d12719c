"""The shared top-k routine: exact for one row and for batches, whatever the width."""

import numpy as np
import pytest

from training.core.top_k import top_k


@pytest.mark.parametrize("rows", [1, 6])
@pytest.mark.parametrize(
    "columns, k", [(32 * 5, 5), (32 * 40, 5), (32 * 9, 1), (32 * 12, 12), (1000, 100), (7, 7)]
)
def test_top_k_finds_the_largest(rows, columns, k):
    rng = np.random.default_rng(columns + k)
    scores = rng.permutation(columns * rows).reshape(rows, columns).astype(np.float32)
    before = scores.copy()
    top = top_k(scores, k)
    np.testing.assert_array_equal(
        np.sort(top, axis=1), np.sort(np.argsort(-scores, axis=1)[:, :k], axis=1)
    )
    np.testing.assert_array_equal(scores, before)


@pytest.mark.parametrize("rows", [1, 2])
def test_top_k_when_the_best_share_a_group(rows):
    # 160 columns make 5 groups, column c in group c mod 5: the top 5 all sit in group 0.
    scores = np.zeros((rows, 160), dtype=np.float32)
    scores[:, [0, 5, 10, 15, 20]] = [5, 4, 3, 2, 1]
    assert all(sorted(row) == [0, 5, 10, 15, 20] for row in top_k(scores, 5))


def test_groups_whose_maxima_tie_at_minus_infinity_stay_distinct():
    # Only 4 finite scores among 128 columns: 3 of the 4 groups have no finite maximum.
    scores = np.full((2, 128), -np.inf, dtype=np.float32)
    scores[:, [0, 4, 8, 12]] = [1, 2, 3, 4]
    assert all(sorted(row) == [0, 4, 8, 12] for row in top_k(scores, 4))
