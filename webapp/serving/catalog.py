"""The served model: an artifact turned into what the pages and the API ask of it."""

import bisect
import sqlite3
import weakref
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from werkzeug.exceptions import ServiceUnavailable

from training.core import (
    ANN_THRESHOLD,
    Matches,
    NameIndex,
    NeighbourIndex,
    co_likes,
    open_served,
    recommend,
)


class LikesPattern(NamedTuple):
    """The model-major likes CSR's pattern [models, users]: what :func:`co_likes` reads."""

    indptr: np.ndarray
    indices: np.ndarray
    shape: tuple


@dataclass
class Catalog:
    """One loaded artifact, read-only (shared by request threads).

    Every array is a read-only memory map of the artifact's sidecar folder
    (:mod:`training.core.serving_files`), so the workers of a machine share one copy and no
    per-model Python object is built. ``neighbours`` answers the similar
    query (exact, or approximate for large models; see
    :class:`training.core.neighbours.NeighbourIndex`); ``item_factors`` float32
    [models, factors] are the raw vectors and ``gram`` float64 [factors, factors]
    their ``Y^T Y``, for fold-in. ``mids`` and ``names`` unicode [models],
    ``likes`` int64 [models], ``likes_by_model`` the likes pattern,
    ``mid_order`` the rows in mid order, ``popular`` the rows most liked
    first, ``name_index`` the name search, ``meta`` the artifact's dict,
    ``sha256`` the hex digest of its file and ``folder`` the serving folder,
    held (:func:`training.core.serving_files.hold`) until the catalog is
    released.
    """

    neighbours: NeighbourIndex
    item_factors: np.ndarray
    gram: np.ndarray
    mids: np.ndarray
    names: np.ndarray
    likes: np.ndarray
    likes_by_model: LikesPattern
    mid_order: np.ndarray
    popular: np.ndarray
    name_index: NameIndex
    meta: dict
    sha256: str
    folder: str

    @classmethod
    def open(cls, path, sha256, ann_threshold=ANN_THRESHOLD):
        """Map the artifact at ``path`` (content ``sha256``) and its sidecar folder, built if
        missing; the neighbours are approximate from ``ann_threshold`` models
        (:func:`training.core.serving_files.open_served`).

        The folder stays held until the catalog is garbage: the last request
        done with it lets it go."""
        served = open_served(path, sha256, ann_threshold)
        try:
            catalog = cls._mapped(served, sha256)
        except BaseException:
            served.held.close()
            raise
        weakref.finalize(catalog, served.held.close)
        return catalog

    @classmethod
    def _mapped(cls, served, sha256):
        arrays = served.arrays
        return cls(
            neighbours=served.neighbours,
            item_factors=arrays["item_factors"],
            gram=arrays["gram"],
            mids=arrays["mids"],
            names=arrays["names"],
            likes=arrays["like_counts"],
            likes_by_model=LikesPattern(
                arrays["likes_indptr"], arrays["likes_indices"], (len(arrays["mids"]), served.users)
            ),
            mid_order=arrays["mid_order"],
            popular=arrays["popular"],
            name_index=served.names,
            meta=served.meta,
            sha256=sha256,
            folder=served.folder,
        )

    def __len__(self):
        return len(self.mids)

    @property
    def factors(self):
        return self.item_factors.shape[1]

    @property
    def exponent(self):
        """The similarity exponent of the neighbour score (1.0: cosine)."""
        return self.neighbours.exponent

    def neighbour_search(self):
        """How similar lists are found, for ``/healthz`` and the admin: ``{"search", "recall",
        ...}`` (the calibration's figures; recall 1.0 for the exact search)."""
        return self.neighbours.report()

    def row(self, mid):
        """Row of ``mid``, or None when the model does not know it."""
        # A binary search reading about 23 mids: np.searchsorted(..., sorter=) would first
        # copy the int32 sorter to intp, all of it (10 ms per look-up at 5M models).
        at = bisect.bisect_left(self.mid_order, mid, key=self.mids.__getitem__)
        if at < len(self) and self.mids[self.mid_order[at]] == mid:
            return int(self.mid_order[at])
        return None

    def card(self, row):
        """``{"mid", "name", "likes"}`` of one model."""
        return {
            "mid": str(self.mids[row]),
            "name": str(self.names[row]),
            "likes": int(self.likes[row]),
        }

    def similar(self, row, k):
        """Up to ``k`` most similar models, best first: cards with ``score`` and ``co_likes``."""
        rows, scores = self.neighbours.similar(row, k)
        shared = co_likes(self.likes_by_model, row, rows)
        return [
            {**self.card(r), "score": round(float(s), 6), "co_likes": int(c)}
            for r, s, c in zip(rows.tolist(), scores, shared, strict=True)
        ]

    def search(self, text):
        """Rows whose name contains ``text`` (case-insensitive), most liked first: a lazy
        sequence of at most :data:`training.core.name_index.MAX_MATCHES` (``capped`` says so).

        503 when the name index cannot be opened: its folder was removed under
        this process, which builds it again."""
        try:
            return Matches(self.name_index, text, self.popular)
        except sqlite3.OperationalError:  # the index file vanished (its folder is rebuilt)
            raise ServiceUnavailable("Search is unavailable for a moment; try again.") from None

    def recommend(self, rows, k):
        """Up to ``k`` models for a visitor who liked ``rows`` (distinct), best first.

        Cards with ``score`` (predicted preference) and ``because`` (the mid of
        the liked model that contributes most); see :mod:`training.core.fold_in`.
        """
        params = self.meta["params"]
        found = recommend(
            self.item_factors, self.gram, rows, k, params["regularization"], params["alpha"]
        )
        return [
            {**self.card(r), "score": round(float(s), 6), "because": str(self.mids[b])}
            for r, s, b in zip(
                found.rows.tolist(), found.scores, found.because.tolist(), strict=True
            )
        ]
