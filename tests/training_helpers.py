"""Helpers for the training tests.

The command line in a subprocess, small likes files, a small search grid.
"""

import itertools
import subprocess
import sys

import numpy as np
import scipy.sparse as sp

from training.likes import write_likes
from training.search import Grid
from training.similarity import neighbour_space

SMALL_GRID = Grid(factors=(20, 40), regularization=(0.1, 10.0), alpha=(10.0, 50.0))
SMALL_EPOCHS = range(2, 12, 2)


def run_training(*args, timeout=120):
    """``python -m training ARGS`` in a subprocess; ``timeout`` in seconds."""
    return subprocess.run(
        [sys.executable, "-m", "training", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def write_grid(path, users, models, extra=()):
    """A likes file where each of ``users`` liked each of ``models``, plus ``extra`` rows."""
    rows = [
        (f"name {m}", f"m{m}", f"u{u}") for u, m in itertools.product(range(users), range(models))
    ]
    write_likes(path, rows + list(extra))


def csr(rows, shape):
    """CSR with ones at ``rows[u]`` columns of row u."""
    dense = np.zeros(shape)
    for u, cols in enumerate(rows):
        dense[u, cols] = 1
    return sp.csr_matrix(dense)


def clustered(n, factors=16, clusters=40, random_state=0, spread=0.5):
    """Unit vectors drawn around ``clusters`` centres (a mixture of gaussians, ``spread`` the
    noise's standard deviation against the centres' 1)."""
    rng = np.random.default_rng(random_state)
    centres = rng.standard_normal((clusters, factors))
    vectors = centres[rng.integers(0, clusters, n)] + spread * rng.standard_normal((n, factors))
    return neighbour_space(vectors, 1.0)[0]


def near_tied(n, factors=32, per_cluster=1000, random_state=0):
    """Unit vectors in tight clusters of ``per_cluster``: the top 12 scores of a row span about
    0.01, as they do on vectors fitted from likes (a code of 4 bits per 2 factors cannot
    order them)."""
    return clustered(n, factors, max(1, n // per_cluster), random_state, spread=0.3)


def planted_group_share(item_factors, mids, group_of):
    """For each model, the share of its 10 cosine neighbours in its planted demo group: [models]."""
    vectors = item_factors / np.linalg.norm(item_factors, axis=1, keepdims=True)
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -np.inf)
    neighbours = np.argsort(-similarity, axis=1)[:, :10]
    group = np.array([group_of[mid] for mid in mids])
    return (group[neighbours] == group[:, None]).mean(axis=1)
