"""Exact cosine neighbours and shared likes, one query at a time.

A query is one matrix-vector product over the L2-normalised item vectors and
the exact top k of :func:`training.top_k.top_k`:
O(models x factors) time and O(models) memory, never an all-pairs matrix.
"""

import numpy as np

from training.top_k import ranked_top_k


def normalise(vectors):
    """Rows of ``vectors`` (float [n, f]) scaled to unit length, as float32 [n, f].

    An all-zero row (an item the model knows nothing about) stays zero, so its
    cosine with anything is 0 rather than NaN.
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)


def similar_rows(unit, row, k):
    """The ``k`` rows most similar to ``row``, best first, never ``row`` itself.

    ``unit`` is float32 [n, f] with unit rows. Returns ``(rows, scores)``:
    int64 [min(k, n-1)] and float32 cosines of the same length; equal scores
    are ordered by row.
    """
    scores = unit @ unit[row]
    scores[row] = -np.inf
    k = min(k, len(scores) - 1)
    if k <= 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
    top = ranked_top_k(scores, k)
    return top, scores[top]


def co_likes(likes, row, rows):
    """How many users liked both ``row`` and each of ``rows`` (int64 [len(rows)]).

    ``likes`` is the model-major CSR [models, users]. One boolean mask of
    ``row``'s users, then a lookup per neighbour: O(users + their likes),
    about 7x faster than slicing and multiplying the sparse matrix.
    """
    indptr, indices = likes.indptr, likes.indices
    mine = np.zeros(likes.shape[1], dtype=bool)
    mine[indices[indptr[row] : indptr[row + 1]]] = True
    return np.array(
        [np.count_nonzero(mine[indices[indptr[r] : indptr[r + 1]]]) for r in rows], dtype=np.int64
    )
