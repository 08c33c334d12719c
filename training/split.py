"""The post's train/test split of a likes matrix, vectorised.

Only users with at least ``2 * split_count`` likes are eligible, so each keeps
at least ``split_count`` likes for training. ``floor(fraction * users)`` of
them (a fraction of *all* users, as the post computes it) are drawn; each
moves ``split_count`` of its likes, drawn at random, to the test matrix.
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .core.errors import BadInput

QUERY_STREAM = 1  # keeps the query draw apart from the split's own random numbers


@dataclass
class Split:
    """Disjoint train and test likes.

    ``train`` and ``test`` are users x models CSR with the values d_ui of the
    input and the same shape; ``train + test`` is the input. ``users`` are the
    rows that moved likes to ``test`` (int64, sorted): the users evaluated.
    """

    train: sp.csr_matrix
    test: sp.csr_matrix
    users: np.ndarray


def split_likes(likes, split_count=5, fraction=0.2, seed=0):
    """Split a users x models likes CSR as the post does; see the module docstring.

    Raises :class:`BadInput` when fewer users are eligible than the fraction
    asks for (the post raised too), or when the fraction selects nobody.
    """
    likes = sp.csr_matrix(likes)
    per_user = np.diff(likes.indptr)
    eligible = np.flatnonzero(per_user >= 2 * split_count)
    wanted = int(np.floor(fraction * likes.shape[0]))
    if wanted < 1:
        raise BadInput(f"fraction {fraction:g} of {likes.shape[0]} users selects no test user")
    if wanted > len(eligible):
        raise BadInput(
            f"not enough users with >= {2 * split_count} likes for fraction {fraction:g}: "
            f"{len(eligible)} eligible, {wanted} wanted"
        )
    rng = np.random.default_rng(seed)
    users = np.sort(rng.choice(eligible, size=wanted, replace=False)).astype(np.int64)
    moved = _draw_likes(likes.indptr, users, split_count, rng)
    split = Split(train=_subset(likes, ~moved), test=_subset(likes, moved), users=users)
    _check_disjoint(likes, split)
    return split


def sample_likes(likes, count, seed=0):
    """``count`` random likes of every row of a users x models CSR (all of a row with fewer).

    Returns a CSR of the same shape holding the drawn entries with their values.
    """
    likes = sp.csr_matrix(likes)
    rng = np.random.default_rng(seed)
    rows = np.arange(likes.shape[0], dtype=np.int64)
    return _subset(likes, _draw_likes(likes.indptr, rows, count, rng))


def _draw_likes(indptr, users, count, rng):
    """Boolean mask over the stored likes: ``count`` random likes of each of ``users``.

    Every like of the chosen users gets a random key; sorting by (user, key)
    and keeping the first ``count`` of each user draws without replacement
    for all users at once.
    """
    lengths = indptr[users + 1] - indptr[users]
    owner = np.repeat(np.arange(len(users)), lengths)
    first = np.cumsum(lengths) - lengths
    position = np.repeat(indptr[users], lengths) + np.arange(lengths.sum()) - first[owner]
    order = np.lexsort((rng.random(len(owner)), owner))
    rank = np.arange(len(owner)) - first[owner[order]]
    moved = np.zeros(indptr[-1], dtype=bool)
    moved[position[order][rank < count]] = True
    return moved


def _subset(likes, keep):
    """The CSR holding only the stored entries where ``keep`` is true (same shape)."""
    rows = np.repeat(np.arange(likes.shape[0]), np.diff(likes.indptr))
    return sp.csr_matrix((likes.data[keep], (rows[keep], likes.indices[keep])), shape=likes.shape)


def _check_disjoint(likes, split):
    # Cheap next to fitting; a split that leaks test likes into training would
    # silently inflate every test metric.
    if split.train.multiply(split.test).nnz or split.train.nnz + split.test.nnz != likes.nnz:
        raise AssertionError("train and test likes overlap or lose likes")


def draw_queries(likes, users, seed=0):
    """One liked model of each of ``users`` (int64 [len(users)]), drawn uniformly.

    ``likes`` is a users x models CSR (a split's ``train``); every user in
    ``users`` must have a like there. The similar-list evaluation asks for the
    neighbours of these models; drawn from a stream of their own, so the same
    ``seed`` gives the same split and the same queries.
    """
    likes = sp.csr_matrix(likes)
    lengths = likes.indptr[users + 1] - likes.indptr[users]
    if (lengths == 0).any():
        raise ValueError("every user drawing a query needs a like")
    rng = np.random.default_rng([seed, QUERY_STREAM])
    picks = likes.indptr[users] + rng.integers(0, lengths)
    return likes.indices[picks].astype(np.int64)
