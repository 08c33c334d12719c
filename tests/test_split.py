"""The post's train/test split: invariants, eligibility, determinism, fair draws."""

import numpy as np
import pytest
import scipy.sparse as sp

from training.core.errors import BadInput
from training.split import sample_likes, split_likes


def random_likes(seed=0, users=300, models=80):
    """Users x models CSR with d_ui in 1..4 and 0 to 30 likes per user."""
    rng = np.random.default_rng(seed)
    dense = np.zeros((users, models), dtype=np.float32)
    for u, n in enumerate(rng.integers(0, 31, size=users)):
        dense[u, rng.choice(models, size=n, replace=False)] = rng.integers(1, 5, size=n)
    return sp.csr_matrix(dense)


def test_split_invariants():
    likes = random_likes()
    split = split_likes(likes, split_count=5, fraction=0.2, seed=0)
    per_user = np.diff(likes.indptr)
    train, test = split.train.toarray(), split.test.toarray()

    assert split.train.shape == split.test.shape == likes.shape
    assert not np.any((train != 0) & (test != 0)), "train and test overlap"
    np.testing.assert_array_equal(train + test, likes.toarray())  # values d_ui kept
    assert len(split.users) == int(np.floor(0.2 * likes.shape[0]))
    assert np.all(np.diff(split.users) > 0)
    assert np.all(per_user[split.users] >= 10), "an ineligible user was drawn"
    np.testing.assert_array_equal(np.diff(split.test.indptr)[split.users], 5)
    others = np.setdiff1d(np.arange(likes.shape[0]), split.users)
    assert split.test[others].nnz == 0
    assert np.all(np.diff(split.train.indptr)[split.users] >= 5)


def test_eligibility_boundary_is_twice_the_split_count():
    likes = sp.csr_matrix(np.array([[1] * 6 + [0] * 4, [1] * 5 + [0] * 5], dtype=np.float32))
    split = split_likes(likes, split_count=3, fraction=0.5, seed=0)
    np.testing.assert_array_equal(split.users, [0])
    with pytest.raises(BadInput, match="not enough users with >= 6 likes"):
        split_likes(likes, split_count=3, fraction=1.0, seed=0)


def test_fraction_is_of_all_users_and_must_select_someone():
    likes = random_likes(users=50)
    assert len(split_likes(likes, 5, 0.1, 0).users) == 5
    with pytest.raises(BadInput, match="selects no test user"):
        split_likes(likes, 5, 0.01, 0)


def test_seeded():
    likes = random_likes()
    a, b, c = (split_likes(likes, 5, 0.2, seed) for seed in (7, 7, 8))
    np.testing.assert_array_equal(a.users, b.users)
    assert (a.test != b.test).nnz == 0
    assert not np.array_equal(a.users, c.users) or (a.test != c.test).nnz


def test_each_like_of_a_user_is_equally_likely_to_move():
    # One eligible user with 10 likes; over many seeds each like moves about half the time.
    likes = sp.csr_matrix(np.ones((1, 10), dtype=np.float32))
    moved = np.zeros(10)
    for seed in range(400):
        moved += split_likes(likes, 5, 1.0, seed).test.toarray()[0]
    assert np.all(np.abs(moved / 400 - 0.5) < 0.1), moved / 400


def test_sample_likes_keeps_count_of_each_row_and_their_values():
    likes = sp.csr_matrix(np.array([[1, 2, 3, 4, 5], [0, 0, 7, 0, 0], [0, 0, 0, 0, 0]]))
    drawn = sample_likes(likes, 3, seed=1)
    assert drawn.shape == likes.shape
    assert np.diff(drawn.indptr).tolist() == [3, 1, 0]
    assert all(likes[r, c] == v for r, c, v in zip(*sp.find(drawn), strict=True))
    assert (sample_likes(likes, 3, seed=1) != drawn).nnz == 0
    seen = {tuple(sample_likes(likes, 3, seed=s)[0].indices) for s in range(30)}
    assert len(seen) > 3  # different seeds draw different likes
