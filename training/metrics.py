"""Precision at k, similar-list recall and mean squared error, without dense predictions.

p@k scores ``user_vectors @ item_vectors.T``; similar-list recall (simk)
scores each test user's query model against every model as the web app's
similar list does. All are taken over given rows (the test users): p@k and
simk rank models in small batches of users, and the MSE over every cell of
those rows uses the closed form

    sum_ui (r_ui - x_u . y_i)^2
        = sum r_ui^2 - 2 sum_u x_u . (R Y)_u + trace((X^T X)(Y^T Y))

so its cost is linear in the stored likes and never users x models.
"""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp

from .core import similarity
from .core.fold_in import item_gram
from .core.top_k import largest, padded_width, top_k

# Users scored at once: at least 64 (64 x 25k float32 scores, 6 MB, stay in
# cache between the passes over them), 2 per factor above 32 factors, where
# the matrix product dominates and runs faster on taller blocks (measured).
BATCH_USERS = 64
# Threads scoring batches: the two cores of the machine Sketchrec is tuned on.
WORKERS = 2
# Models per length group of the similar-list evaluation (see _LengthGroups).
LENGTH_GROUP = 64  # measured against 32, 128 and 256 at 10 and 40 factors


def precision_at_k(user_vectors, item_vectors, train, test, k, batch=None, workers=WORKERS):
    """``(p@k train, p@k test)`` averaged over the rows of ``user_vectors``.

    ``user_vectors`` float [users, f] and ``item_vectors`` float [models, f];
    ``train``/``test`` users x models CSR (same rows) of liked models. Train
    p@k ranks every model (as the post does); test p@k ranks only the models
    a user did not like in ``train``. A top-k model counts when it is stored
    in the matrix, whatever its value. Batches of ``batch`` users (default
    :func:`batch_users`) run on ``workers`` threads (numpy releases the GIL);
    call with BLAS limited to one thread, which on a shared machine is faster
    than BLAS's own threads.

    One pass over the scores serves both: the top k over all models is the
    top k of the train likes together with the k best models not liked.
    """
    batch = batch or batch_users(item_vectors.shape[1])
    train, test = _sorted(train), _sorted(test)
    items = _padded(item_vectors, k)
    models, width = item_vectors.shape[0], items.shape[0]

    def hits(start):
        stop = min(start + batch, user_vectors.shape[0])
        scores = user_vectors[start:stop] @ items.T
        scores[:, models:] = -np.inf
        liked = _cells(train, start, stop)
        liked_scores = scores[liked]
        scores[liked] = -np.inf
        unliked_top = top_k(scores, k)
        unliked_scores = np.take_along_axis(scores, unliked_top, axis=1)
        return [
            _liked_in_top_k(liked[0], liked_scores, unliked_scores, k),
            _hits(unliked_top, _cells(test, start, stop), width),
        ]

    hits_train, hits_test = _batched(hits, user_vectors.shape[0], batch, workers)
    return float(hits_train / (user_vectors.shape[0] * k)), float(
        hits_test / (user_vectors.shape[0] * k)
    )


def similar_list_recall(
    item_vectors, queries, train, test, k, exponents, batch=None, workers=WORKERS
):
    """``(simk train, simk test)``, each float64 [len(exponents)]: recall of similar lists.

    ``item_vectors`` float [models, f]; ``queries`` int [users]: one model per
    row of ``train``/``test`` (users x models CSR of liked models, same rows),
    a model the user liked in ``train``. Each user's list ranks models by
    ``s(q, j) = y_q . y_j / (|y_q| |y_j| ** exponent)`` (1 is cosine, 0 the
    dot product), for every exponent from one product of the unit query
    vectors with the item vectors.

    Test: the top ``k`` of the models not liked in ``train``; the user's test
    likes among them, summed over users, over all test likes. Train: the top
    ``k`` of every model but the query; the user's other train likes among
    them over all train likes but the queries (a measure of fit, as train p@k
    is). Zero vectors score 0. Batching and threads as :func:`precision_at_k`.

    One pass over the cosines serves every exponent: models sit in groups of
    :data:`LENGTH_GROUP` of similar length (see :class:`_LengthGroups`),
    so a group's best cosine times its largest and smallest length weight
    bound its best score from above and below; only the groups whose upper
    bound reaches the k-th best lower bound for some exponent are scored,
    exactly.
    """
    if not len(exponents):
        return np.empty(0), np.empty(0)
    batch = batch or batch_users(item_vectors.shape[1])
    layout = _LengthGroups(item_vectors, k, exponents)
    train, test = layout.columns(train), layout.columns(test)
    query_vectors = similarity.scaled(item_vectors[queries], similarity.COSINE)
    query_columns = layout.column_of[queries]

    def hits(start):
        stop = min(start + batch, len(queries))
        cosines = query_vectors[start:stop] @ layout.items.T
        cosines[:, layout.padding] = -np.inf
        liked = _cells(train, start, stop)
        others = liked[1] != query_columns[start:stop][liked[0]]
        liked_cosines = cosines[liked]
        cosines[liked] = -np.inf
        # The query's own like is not among the found; the rest do not depend on the exponent.
        liked_rows, liked_columns, other_cosines = (
            liked[0][others],
            liked[1][others],
            liked_cosines[others],
        )
        group_best = cosines.reshape(stop - start, LENGTH_GROUP, layout.groups).max(axis=1)
        candidates, candidate_cosines = layout.candidates(cosines, group_best)
        test_cells, counts = _cells(test, start, stop), []
        for weights in layout.weights:
            values = candidate_cosines * weights[candidates]
            best = largest(values, k)
            top = np.take_along_axis(candidates, best, axis=1)
            unliked_scores = np.take_along_axis(candidate_cosines, best, axis=1) * weights[top]
            liked_scores = other_cosines * weights[liked_columns]
            counts += [
                _liked_in_top_k(liked_rows, liked_scores, unliked_scores, k),
                _hits(top, test_cells, layout.width),
            ]
        return counts

    counts = _batched(hits, len(queries), batch, workers).reshape(-1, 2)
    train_total, test_total = train.nnz - len(queries), test.nnz
    return counts[:, 0] / max(train_total, 1), counts[:, 1] / max(test_total, 1)


class _LengthGroups:
    """Item vectors laid out in columns so that each top-k group holds models of similar length.

    Models sorted by length fill the groups of :func:`training.core.top_k.top_k`'s
    layout in turn (group g: column g + groups * i), padded with zero vectors
    to its width. ``items`` float [width, f]; ``column_of`` int [models];
    ``padding`` the padded columns; ``weights`` [exponents, width] (the
    length weight ``|y_j| ** -exponent``, 1 for zero vectors, whose cosine is
    0 anyway, and for padding) and ``most``/``least`` [exponents, groups]
    (each group's largest and smallest weight).
    """

    def __init__(self, item_vectors, k, exponents):
        models = item_vectors.shape[0]
        self.k = k
        self.groups = max(k, -(-models // LENGTH_GROUP))
        self.width = self.groups * LENGTH_GROUP
        norms = similarity.lengths(item_vectors)
        position = np.empty(models, dtype=np.intp)
        position[np.argsort(norms, kind="stable")] = np.arange(models)
        self.column_of = (position % LENGTH_GROUP) * self.groups + position // LENGTH_GROUP
        padded = np.arange(models, self.width)
        self.padding = (padded % LENGTH_GROUP) * self.groups + padded // LENGTH_GROUP
        self.items = np.zeros((self.width, item_vectors.shape[1]), dtype=item_vectors.dtype)
        self.items[self.column_of] = item_vectors
        column_norms = np.zeros(self.width, dtype=norms.dtype)
        column_norms[self.column_of] = norms
        weights = np.ones((len(exponents), self.width), dtype=column_norms.dtype)
        for weight, exponent in zip(weights, exponents, strict=True):
            np.power(column_norms, -exponent, out=weight, where=column_norms > 0)
        self.weights = weights
        by_group = weights.reshape(len(exponents), LENGTH_GROUP, self.groups)
        self.most, self.least = by_group.max(axis=1), by_group.min(axis=1)

    def columns(self, likes):
        """A users x models CSR with its models moved to their columns (sorted), [users, width]."""
        likes = sp.csr_matrix(likes)
        moved = sp.csr_matrix(
            (likes.data, self.column_of[likes.indices], likes.indptr),
            shape=(likes.shape[0], self.width),
        )
        moved.sort_indices()
        return moved

    def candidates(self, cosines, group_best):
        """Columns that may hold a row's top ``k`` score for some exponent, and their cosines.

        ``cosines`` [rows, width]; ``group_best`` [rows, groups] each group's
        largest cosine. Returns ``(columns, cosines)``, both [rows, c], c the
        same for every row. The weights are positive, so a group's scores lie
        between its best cosine times its smallest and its largest weight
        (the other way round when that cosine is negative); the k-th largest
        lower bound is at most the k-th best score, and only groups whose
        upper bound reaches it can hold a top-k score.
        """
        best = group_best[:, None, :]
        by_most, by_least = best * self.most, best * self.least  # [rows, exponents, groups]
        upper, lower = np.maximum(by_most, by_least), np.minimum(by_most, by_least)
        threshold = np.partition(lower, self.groups - self.k, axis=2)[:, :, self.groups - self.k]
        needed = (upper >= threshold[:, :, None]).any(axis=1).view(np.uint8)
        wanted = int(needed.sum(axis=1).max())
        groups = np.argpartition(needed, self.groups - wanted, axis=1)[:, -wanted:]
        columns = (groups[:, None, :] + self.groups * np.arange(LENGTH_GROUP)[:, None]).reshape(
            len(cosines), -1
        )
        return columns, np.take_along_axis(cosines, columns, axis=1)


def _batched(count, rows, batch, workers):
    """Sum over batches of ``rows`` of ``count(start)`` (a list of ints), on ``workers`` threads."""
    with ThreadPoolExecutor(workers) as pool:
        counts = list(pool.map(count, range(0, rows, batch)))
    return np.array(counts, dtype=np.int64).reshape(len(counts), -1).sum(axis=0)


def batch_users(factors):
    """Users scored at once for ``factors`` latent factors (see :data:`BATCH_USERS`)."""
    return max(BATCH_USERS, 2 * factors)


def _liked_in_top_k(liked_rows, liked_scores, unliked_scores, k):
    """How many liked models rank among their row's ``k`` best of all models.

    ``liked_rows``/``liked_scores`` [likes] give each liked model's row and
    score; ``unliked_scores`` [rows, k] the k best scores of models not
    liked. Ranks within the union of the two, per row, by sorting.
    """
    unliked_rows = np.repeat(np.arange(unliked_scores.shape[0]), k)
    rows = np.concatenate([liked_rows, unliked_rows])
    values = np.concatenate([liked_scores, unliked_scores.ravel()])
    order = np.lexsort((-values, rows))
    sorted_rows = rows[order]
    rank = np.arange(len(order)) - np.searchsorted(sorted_rows, sorted_rows)
    return int(np.count_nonzero((order < len(liked_rows)) & (rank < k)))


def _sorted(matrix):
    """``matrix`` as CSR with sorted column indices (a copy only if they were not)."""
    matrix = sp.csr_matrix(matrix)
    return matrix if matrix.has_sorted_indices else matrix.sorted_indices()


def _padded(item_vectors, k):
    """``item_vectors`` with zero rows appended up to the width :func:`top_k` needs."""
    rows = padded_width(item_vectors.shape[0], k) - item_vectors.shape[0]
    padding = np.zeros((rows, item_vectors.shape[1]), dtype=item_vectors.dtype)
    return np.vstack([item_vectors, padding])


def _cells(matrix, start, stop):
    """Stored cells of CSR rows ``start:stop`` as an index pair (row - start, column), row-major."""
    lo, hi = matrix.indptr[start], matrix.indptr[stop]
    rows = np.repeat(np.arange(stop - start), np.diff(matrix.indptr[start : stop + 1]))
    return rows, matrix.indices[lo:hi]


def _hits(top, cells, width):
    """How many cells (r, top[r, j]) are among ``cells`` (row-major, sorted columns)."""
    stored = cells[0] * width + cells[1]  # increasing
    if not len(stored):
        return 0
    wanted = (np.arange(top.shape[0])[:, None] * width + top).ravel()
    found = np.take(stored, np.searchsorted(stored, wanted), mode="clip")
    return int(np.count_nonzero(found == wanted))


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
