"""Precision at k and mean squared error of a factorization, without dense predictions.

Scores are ``user_vectors @ item_vectors.T``. Both metrics are taken over
given rows (the test users): p@k ranks models in small batches of users, and
the MSE over every cell of those rows uses the closed form

    sum_ui (r_ui - x_u . y_i)^2
        = sum r_ui^2 - 2 sum_u x_u . (R Y)_u + trace((X^T X)(Y^T Y))

so its cost is linear in the stored likes and never users x models.
"""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp

# Users scored at once: 64 x 25k float32 scores (6 MB) stay in cache between
# the passes top_k and the hit count make over them.
BATCH_USERS = 64
# Threads scoring batches: the two cores of the machine Sketchrec is tuned on.
WORKERS = 2
# Columns per group in top_k; the score width is padded to a multiple of it.
GROUP = 32


def top_k(scores, k):
    """Column indices of each row's ``k`` largest scores, in no order: intp [rows, k].

    ``scores`` float [rows, columns] with ``columns`` a multiple of
    :data:`GROUP` and at least ``k * GROUP`` (pad with ``-inf``); it is not
    modified. Columns are dealt into ``columns // GROUP`` groups (column c in
    group c mod that); the k groups with the largest maxima hold k scores at
    least as large as any other, so one vectorised max over all scores and a
    search among ``k * GROUP`` candidates per row find the top k. This is
    several times faster than ``argpartition`` over full rows. The order
    among equal scores is unspecified.
    """
    rows, columns = scores.shape
    groups = columns // GROUP
    maxima = scores.reshape(rows, GROUP, groups).max(axis=1)
    candidates = (_largest(maxima, k)[:, None, :] + groups * np.arange(GROUP)[:, None]).reshape(rows, -1)
    values = np.take_along_axis(scores, candidates, axis=1)
    return np.take_along_axis(candidates, _largest(values, k), axis=1)


def _largest(values, k):
    """Column indices of each row's ``k`` largest ``values`` [rows, columns]; overwrites them.

    ``k`` argmax passes: for the small k of p@k, cheaper than a partition.
    """
    rows = np.arange(values.shape[0])
    top = np.empty((values.shape[0], k), dtype=np.intp)
    for j in range(k):
        top[:, j] = values.argmax(axis=1)
        values[rows, top[:, j]] = -np.inf
    return top


def precision_at_k(user_vectors, item_vectors, train, test, k, batch=BATCH_USERS, workers=WORKERS):
    """``(p@k train, p@k test)`` averaged over the rows of ``user_vectors``.

    ``user_vectors`` float [users, f] and ``item_vectors`` float [models, f];
    ``train``/``test`` users x models CSR (same rows) of liked models. Train
    p@k ranks every model (as the seed does); test p@k ranks only the models
    a user did not like in ``train``. A top-k model counts when it is stored
    in the matrix, whatever its value. Batches of users run on ``workers``
    threads (numpy releases the GIL); call with BLAS limited to one thread,
    which on a shared machine is faster than BLAS's own threads.
    """
    train, test = sp.csr_matrix(train), sp.csr_matrix(test)
    items = _padded(item_vectors, k)
    models = item_vectors.shape[0]

    def hits(start):
        stop = min(start + batch, user_vectors.shape[0])
        scores = user_vectors[start:stop] @ items.T
        scores[:, models:] = -np.inf
        marker = np.zeros(scores.shape, dtype=bool)
        liked = _cells(train, start, stop)
        hits_train = _hits(top_k(scores, k), liked, marker)
        scores[liked] = -np.inf
        return hits_train, _hits(top_k(scores, k), _cells(test, start, stop), marker)

    with ThreadPoolExecutor(workers) as pool:
        counts = np.array(list(pool.map(hits, range(0, user_vectors.shape[0], batch))), dtype=np.int64)
    hits_train, hits_test = counts.reshape(-1, 2).sum(axis=0) / (user_vectors.shape[0] * k)
    return float(hits_train), float(hits_test)


def _padded(item_vectors, k):
    """``item_vectors`` with zero rows appended up to the width :func:`top_k` needs."""
    groups = max(k, -(-item_vectors.shape[0] // GROUP))
    padding = np.zeros((groups * GROUP - item_vectors.shape[0], item_vectors.shape[1]),
                       dtype=item_vectors.dtype)
    return np.vstack([item_vectors, padding])


def _cells(matrix, start, stop):
    """Stored cells of CSR rows ``start:stop`` as an index pair (row - start, column)."""
    lo, hi = matrix.indptr[start], matrix.indptr[stop]
    rows = np.repeat(np.arange(stop - start), np.diff(matrix.indptr[start:stop + 1]))
    return rows, matrix.indices[lo:hi]


def _hits(top, cells, marker):
    """How many cells (r, top[r, j]) are among ``cells``; ``marker`` is all-False scratch, kept so."""
    marker[cells] = True
    hits = int(marker[np.arange(top.shape[0])[:, None], top].sum())
    marker[cells] = False
    return hits


def item_gram(item_vectors):
    """``Y^T Y`` in float64 [f, f]; shared by every :func:`mse` of one model."""
    y = np.asarray(item_vectors, dtype=np.float64)
    return y.T @ y


def mse(user_vectors, item_vectors, observed, gram=None):
    """Mean over every cell of ``(observed - user_vectors @ item_vectors.T) ** 2``.

    ``observed`` is a users x models CSR (missing cells are 0) with the rows of
    ``user_vectors`` float [users, f]; ``item_vectors`` float [models, f];
    ``gram`` is :func:`item_gram` of ``item_vectors`` if already computed.
    Exact in float64 via the closed form of the module docstring. Non-finite
    factors give NaN.
    """
    x = np.asarray(user_vectors, dtype=np.float64)
    y = np.asarray(item_vectors, dtype=np.float64)
    if gram is None:
        gram = item_gram(y)
    r = sp.csr_matrix(observed, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        squares = r.data @ r.data
        cross = np.sum(x * (r @ y))
        quadratic = np.sum((x.T @ x) * gram)
        total = squares - 2.0 * cross + quadratic
    return float(total) / (x.shape[0] * y.shape[0])


def popularity_scores(train):
    """Likes per model in ``train`` (float64 [models]): the popularity baseline's score."""
    return np.asarray((sp.csr_matrix(train) != 0).sum(axis=0), dtype=np.float64).ravel()
