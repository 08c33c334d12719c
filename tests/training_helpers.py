"""Helpers for the training tests.

The command line in a subprocess, small likes files, a small search grid,
artifacts written as ``fit`` writes them.
"""

import itertools
import subprocess
import sys

import numpy as np
import scipy.sparse as sp

from training.core import artifact
from training.core.likes import write_likes
from training.core.params import Params
from training.core.similarity import neighbour_space
from training.search import Grid

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


def spawn_training(*args):
    """``python -m training ARGS`` started in a subprocess (text pipes); the caller ends it."""
    return subprocess.Popen(
        [sys.executable, "-m", "training", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
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


def clustered(n, factors=16, clusters=40, random_state=0):
    """Unit vectors drawn around ``clusters`` centres (a mixture of gaussians)."""
    rng = np.random.default_rng(random_state)
    centres = rng.standard_normal((clusters, factors))
    vectors = centres[rng.integers(0, clusters, n)] + 0.5 * rng.standard_normal((n, factors))
    return neighbour_space(vectors, 1.0)[0]


def near_tied(n, factors=32, clusters=8, spread=0.15, random_state=0):
    """Unit vectors in a few tight clusters: like vectors fitted from likes, each row's
    nearest neighbours score nearly the same (their cosines differ in the third decimal)."""
    rng = np.random.default_rng(random_state)
    centres = rng.standard_normal((clusters, factors))
    vectors = centres[rng.integers(0, clusters, n)] + spread * rng.standard_normal((n, factors))
    return neighbour_space(vectors, 1.0)[0]


def planted_group_share(item_factors, mids, group_of):
    """For each model, the share of its 10 cosine neighbours in its planted demo group: [models]."""
    vectors = item_factors / np.linalg.norm(item_factors, axis=1, keepdims=True)
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -np.inf)
    neighbours = np.argsort(-similarity, axis=1)[:, :10]
    group = np.array([group_of[mid] for mid in mids])
    return (group[neighbours] == group[:, None]).mean(axis=1)


def write_artifact(path, item_factors, mids, names, likes, **extra_meta):
    """Write an artifact the way ``python -m training fit`` does; ``likes`` users x models."""
    likes = sp.csr_matrix(likes)
    params = Params(factors=item_factors.shape[1])
    dataset = {
        "path": "test",
        "sha256": "0" * 64,
        "users": likes.shape[0],
        "models": likes.shape[1],
        "likes": int(likes.nnz),
    }
    meta = artifact.build_meta(params, 1, dataset, **extra_meta)
    artifact.save_model(path, item_factors, mids, names, likes, meta)
    return path
