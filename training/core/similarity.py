"""The neighbour score of the similar lists, shared by the evaluation and the web app.

    s(i, j) = y_i . y_j / (|y_i| |y_j| ** exponent)

Exponent 1 is the cosine (the post's score); 0 is the unit query's dot
product with the raw item vectors, which favours models with long vectors
(the often liked ones); values between keep part of the length. The query's
own length divides every score of one list alike, so it never changes the
order; dividing by it keeps exponent 1 exactly the cosine. Zero vectors
(models the factors know nothing about) score 0, never NaN.
"""

import numpy as np

COSINE = 1.0


def lengths(vectors):
    """L2 norms of the rows of ``vectors`` (float [n, f]): [n], same dtype."""
    return np.linalg.norm(vectors, axis=1)


def scaled(vectors, exponent):
    """``y_j / |y_j| ** exponent`` for each row (float [n, f], same dtype); zero rows stay 0.

    With exponent 1 these are the unit vectors, and the scores of a unit query
    against them are cosines.
    """
    divisors = lengths(vectors)[:, None] ** exponent
    return np.divide(vectors, divisors, out=np.zeros_like(vectors), where=divisors > 0)


def neighbour_space(item_factors, exponent):
    """``(vectors, norms)`` a catalog keeps: float32 [n, f] item vectors divided by
    ``|y_j| ** exponent`` (unit rows at exponent 1) and float32 [n] their original lengths.

    A zero row (an item the model knows nothing about) stays zero, so its
    score with anything is 0 rather than NaN.
    """
    vectors = np.asarray(item_factors, dtype=np.float32)
    return scaled(vectors, exponent), lengths(vectors)


def query(scaled_vectors, norms, row, exponent):
    """The unit query vector of ``row`` from the rows of :func:`scaled` and their ``norms``.

    ``scaled_vectors @ query(...)`` are the scores ``s(row, j)`` of every j.
    """
    norm = norms[row]
    if norm <= 0:
        return np.zeros_like(scaled_vectors[row])
    return scaled_vectors[row] * scaled_vectors.dtype.type(norm ** (exponent - 1))
