"""Folding a new user into a fitted WRMF model: one small least-squares solve, no retraining.

WRMF's user step (Hu, Koren & Volinsky 2008, eq. 4) for a user u, item
factors ``Y`` [n, f] and regularization lambda::

    x_u = (Y^T C^u Y + lambda I)^-1 Y^T C^u p(u)

``C^u`` is diagonal with ``c_ui = 1 + alpha * d_ui`` on the user's liked items
and 1 elsewhere; ``p(u)`` is 1 on liked items and 0 elsewhere. ``C^u - I`` is
zero outside the liked rows ``Y_h`` [h, f], so with ``c_h`` [h] their
confidences and the Gram matrix ``G = Y^T Y`` [f, f] (computed once per
model, :func:`item_gram`)::

    A   = G + Y_h^T (C_h - I) Y_h + lambda I        [f, f]
    x_u = A^-1 Y_h^T c_h                            [f]

which costs O(h f^2 + f^3), whatever n. Scoring every item is ``Y x_u``, O(n f).
This is the step ``implicit`` runs for ``recalculate_user`` (Cholesky, no
regularization scaling); confidences are c itself, as :mod:`training.confidence`
builds them.

Explanation (the paper's section 5): with ``W = A^-1``,
``x_u = sum_i c_ui W y_i``, so the score of item j splits into one term per
liked item i::

    y_j . x_u = sum_{i in h} c_ui y_j^T W y_i

and the largest term names the liked item that contributes most to j's score.
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .top_k import ranked_top_k


@dataclass(frozen=True)
class Recommendations:
    """Top-k items of one folded-in user, best first.

    ``rows`` int64 [k] item rows, ``scores`` float32 [k] predicted
    preferences ``x . y_j``, ``because`` int64 [k] the liked row that
    contributes most to each score.
    """

    rows: np.ndarray
    scores: np.ndarray
    because: np.ndarray


def item_gram(item_vectors):
    """``G = Y^T Y`` in float64 [f, f] of ``item_vectors`` [n, f]; computed once per model
    (the serving files keep it) and shared by every fold-in and every MSE of that model."""
    y = np.asarray(item_vectors, dtype=np.float64)
    return y.T @ y


def _weighted_directions(item_factors, gram, liked, confidence, regularization):
    """``c_i W y_i`` for each liked item i: float64 [f, h] (columns sum to x_u)."""
    y_h = np.asarray(item_factors[liked], dtype=np.float64)
    c_h = np.asarray(confidence, dtype=np.float64)
    a = gram + (y_h.T * (c_h - 1.0)) @ y_h
    a[np.diag_indices_from(a)] += regularization
    # A is symmetric positive definite for lambda > 0; solve (LU) also copes with lambda = 0.
    return np.linalg.solve(a, y_h.T) * c_h


def user_vector(item_factors, gram, liked, confidence, regularization):
    """The folded-in user vector ``x_u`` (float64 [f]).

    ``item_factors`` float [n, f]; ``gram`` its ``Y^T Y`` [f, f];
    ``liked`` int [h] distinct item rows; ``confidence`` float [h] their c_ui;
    ``regularization`` lambda >= 0. No liked items give the zero vector.
    """
    return _weighted_directions(item_factors, gram, liked, confidence, regularization).sum(axis=1)


def user_vectors(item_factors, gram, confidence_matrix, regularization):
    """Folded-in vectors of many users: float64 [users, f].

    ``confidence_matrix`` is a users x items CSR holding c_ui on each user's
    liked items (as :func:`training.confidence.confidence` builds it). One
    solve per user.
    """
    c = sp.csr_matrix(confidence_matrix)
    vectors = np.zeros((c.shape[0], item_factors.shape[1]))
    for u in range(c.shape[0]):
        start, stop = c.indptr[u], c.indptr[u + 1]
        if stop > start:
            vectors[u] = user_vector(
                item_factors, gram, c.indices[start:stop], c.data[start:stop], regularization
            )
    return vectors


def recommend(item_factors, gram, liked, k, regularization, alpha):
    """The ``k`` best items for a visitor who liked rows ``liked``, each with its "because".

    ``item_factors`` float32 [n, f]; ``gram`` [f, f] its ``Y^T Y``;
    ``liked`` int [h] distinct rows, each with d = 1 (c = 1 + alpha). Liked
    rows are left out; at most ``n - h`` items are returned; equal scores are
    ordered by row. Returns :class:`Recommendations`.
    """
    liked = np.asarray(liked, dtype=np.int64)
    k = min(k, item_factors.shape[0] - len(liked))
    if k <= 0 or not len(liked):
        empty = np.empty(0, dtype=np.int64)
        return Recommendations(empty, np.empty(0, dtype=np.float32), empty)
    confidence = np.full(len(liked), 1.0 + alpha)
    directions = _weighted_directions(item_factors, gram, liked, confidence, regularization)
    x = directions.sum(axis=1).astype(item_factors.dtype)
    scores = item_factors @ x
    scores[liked] = -np.inf
    rows = ranked_top_k(scores, k)
    # Term i of y_j . x for the k winners only: [k, h].
    terms = item_factors[rows].astype(np.float64) @ directions
    return Recommendations(rows, scores[rows], liked[terms.argmax(axis=1)])
