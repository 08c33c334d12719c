"""The served model: an artifact turned into what the pages and the API ask of it."""

import bisect
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from training import ann_index, fold_in, serving_files
from training.artifact import open_model, users_of
from training.name_index import Matches, NameIndex
from training.similarity import COSINE, query

from .neighbours import co_likes, similar_rows


class LikesPattern(NamedTuple):
    """The model-major likes CSR's pattern [models, users]: what :func:`co_likes` reads."""

    indptr: np.ndarray
    indices: np.ndarray
    shape: tuple


@dataclass
class Catalog:
    """One loaded artifact, read-only (shared by request threads).

    Every array is a read-only memory map of the artifact's sidecar folder
    (:mod:`training.serving_files`), so the workers of a machine share one copy and no
    per-model Python object is built. ``vectors`` float32 [models, factors]
    are the item vectors divided by their length to the power ``exponent``
    (the meta's ``similarity_exponent``; 1.0, cosine, when absent) and
    ``norms`` float32 [models] their lengths; ``item_factors`` float32
    [models, factors] the raw vectors and ``gram`` float64 [factors, factors]
    their ``Y^T Y``, for fold-in. ``mids`` and ``names`` unicode [models],
    ``likes`` int64 [models], ``likes_by_model`` the likes pattern,
    ``mid_order`` the rows in mid order, ``popular`` the rows most liked
    first, ``name_index`` the name search, ``ann`` the approximate index
    (None below its threshold or when its calibration did not reach the
    target), ``neighbours`` its :class:`~training.ann_calibration.Calibration`
    (None below the threshold), ``meta`` the artifact's dict and ``sha256``
    the hex digest of its file.
    """

    vectors: np.ndarray
    norms: np.ndarray
    exponent: float
    item_factors: np.ndarray
    gram: np.ndarray
    mids: np.ndarray
    names: np.ndarray
    likes: np.ndarray
    likes_by_model: LikesPattern
    mid_order: np.ndarray
    popular: np.ndarray
    name_index: NameIndex
    ann: object
    neighbours: object
    meta: dict
    sha256: str

    @classmethod
    def open(cls, path, sha256, ann_threshold=serving_files.ANN_THRESHOLD):
        """Map the artifact at ``path`` (content ``sha256``) and its sidecar folder, built if
        missing; the approximate index answers from ``ann_threshold`` models.

        The artifact's content is checked when its folder is built, once per
        content (the folder is named by ``sha256``): a worker that finds the
        folder reads none of the artifact's arrays.
        """
        model = open_model(path, check_content=False)
        folder = serving_files.ensure(path, sha256, len(model.mids), ann_threshold)
        derived = serving_files.load(folder)
        approximate = len(model.mids) >= ann_threshold
        ann, neighbours = serving_files.load_ann(folder) if approximate else (None, None)
        users = users_of(model.meta)  # checked against every index when the folder was built
        if users is None:  # an artifact without the count: one pass over the likes
            users = int(derived["likes_indices"].max(initial=-1)) + 1
        return cls(
            vectors=derived["vectors"],
            norms=derived["norms"],
            exponent=float(model.meta.get("similarity_exponent", COSINE)),
            item_factors=derived["item_factors"],
            gram=derived["gram"],
            mids=derived["mids"],
            names=derived["names"],
            likes=derived["like_counts"],
            likes_by_model=LikesPattern(
                derived["likes_indptr"], derived["likes_indices"], (len(model.mids), users)
            ),
            mid_order=derived["mid_order"],
            popular=derived["popular"],
            name_index=NameIndex(f"{folder}/{serving_files.NAMES_FILE}"),
            ann=ann,
            neighbours=neighbours,
            meta=model.meta,
            sha256=sha256,
        )

    def __len__(self):
        return len(self.mids)

    @property
    def factors(self):
        return self.vectors.shape[1]

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
        if self.ann is None:
            rows, scores = similar_rows(self.vectors, self.norms, self.exponent, row, k)
        else:
            unit_query = query(self.vectors, self.norms, row, self.exponent)
            candidates = self.neighbours.settings["candidates"]
            rows, scores = ann_index.similar_rows(
                self.ann, self.vectors, unit_query, row, k, candidates
            )
        shared = co_likes(self.likes_by_model, row, rows)
        return [
            {**self.card(r), "score": round(float(s), 6), "co_likes": int(c)}
            for r, s, c in zip(rows.tolist(), scores, shared, strict=True)
        ]

    def search(self, text):
        """Rows whose name contains ``text`` (case-insensitive), most liked first: a lazy
        sequence of at most :data:`training.name_index.MAX_MATCHES` (``capped`` says so)."""
        return Matches(self.name_index, text, self.popular)

    def recommend(self, rows, k):
        """Up to ``k`` models for a visitor who liked ``rows`` (distinct), best first.

        Cards with ``score`` (predicted preference) and ``because`` (the mid of
        the liked model that contributes most); see :mod:`training.fold_in`.
        """
        params = self.meta["params"]
        found = fold_in.recommend(
            self.item_factors, self.gram, rows, k, params["regularization"], params["alpha"]
        )
        return [
            {**self.card(r), "score": round(float(s), 6), "because": str(self.mids[b])}
            for r, s, b in zip(
                found.rows.tolist(), found.scores, found.because.tolist(), strict=True
            )
        ]
