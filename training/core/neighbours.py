"""The similar-models query: one index, exact or approximate, and "N people liked both".

The score is :mod:`training.core.similarity`'s ``y_i . y_j / (|y_i| |y_j| ** exponent)``
(exponent 1: cosine). The item vectors are stored once divided by
``|y_j| ** exponent``; an exact query is one matrix-vector product of them with the
unit query vector and the exact top k of :func:`training.core.top_k.top_k`:
O(models x factors) time and O(models) memory, never an all-pairs matrix.
Large catalogues add an approximate index (:mod:`training.core.ann_index`)
whose candidates are scored exactly on the same vectors; whether a
:class:`NeighbourIndex` has one is settled when the serving files are built
(:mod:`training.core.serving_files`), and its callers never ask.
"""

from dataclasses import dataclass

import numpy as np

from . import ann_index, similarity
from .top_k import ranked_top_k


@dataclass(frozen=True)
class NeighbourIndex:
    """The similar-models query of one served model.

    ``vectors`` float32 [models, factors] and ``norms`` float32 [models] from
    :func:`training.core.similarity.neighbour_space` with ``exponent``; ``ann``
    the approximate index over ``vectors`` (:func:`training.core.ann_index.load`),
    or None for exact answers.
    """

    vectors: np.ndarray
    norms: np.ndarray
    exponent: float
    ann: object = None
    calibration: object = None

    def report(self):
        """How similar lists are found, for ``/healthz`` and the admin: ``{"search",
        "recall", ...}``, the calibration's figures (recall 1.0 for the exact search)."""
        if self.calibration is None:
            return {"search": "exact", "recall": 1.0}
        return self.calibration.report()

    def similar(self, row, k):
        """Up to ``k`` rows scoring highest with ``row``, best first, never ``row`` itself.

        Returns ``(rows, scores)``: int64 and float32 arrays of the same length,
        equal scores ordered by row. Exact answers hold ``min(k, models - 1)``
        rows; approximate ones possibly fewer, with exact scores.
        """
        if self.ann is None:
            return similar_rows(self.vectors, self.norms, self.exponent, row, k)
        unit_query = similarity.query(self.vectors, self.norms, row, self.exponent)
        return ann_index.similar_rows(self.ann, self.vectors, unit_query, row, k)


def similar_rows(vectors, norms, exponent, row, k):
    """The ``k`` rows scoring highest with ``row``, best first, never ``row`` itself.

    ``vectors``/``norms`` from :func:`training.core.similarity.neighbour_space` with the same
    ``exponent``. Returns ``(rows, scores)``: int64 [min(k, n-1)] and float32
    scores of the same length; equal scores are ordered by row.
    """
    scores = vectors @ similarity.query(vectors, norms, row, exponent)
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
