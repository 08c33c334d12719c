"""The served model: an artifact turned into what the pages and the API ask of it."""

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from training import fold_in
from training.metrics import item_gram
from training.similarity import COSINE

from .neighbours import co_likes, neighbour_space, similar_rows


@dataclass
class Catalog:
    """One loaded artifact, read-only once built (shared by request threads).

    ``vectors`` float32 [models, factors] and ``norms`` float32 [models]: the
    item vectors divided by their length to the power ``exponent`` and their
    lengths (see :func:`neighbour_space`); ``exponent`` the meta's
    ``similarity_exponent`` (1.0, cosine, when absent). ``item_factors``
    float32 [models, factors] are the raw vectors, for fold-in; ``mids`` and
    ``names`` lists [models], ``likes`` int64 [models], ``likes_by_model`` the
    model-major CSR [models, users], ``meta`` the artifact's dict and
    ``sha256`` the hex digest of the artifact file. ``gram`` float64
    [factors, factors] is ``Y^T Y`` of ``item_factors``, computed once at load.
    """

    vectors: np.ndarray
    norms: np.ndarray
    exponent: float
    item_factors: np.ndarray
    mids: list
    names: list
    likes: np.ndarray
    likes_by_model: sp.csr_matrix
    meta: dict
    sha256: str
    row_of: dict = field(init=False, repr=False)
    popular: np.ndarray = field(init=False, repr=False)
    folded_names: list = field(init=False, repr=False)
    gram: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        self.row_of = {mid: row for row, mid in enumerate(self.mids)}
        # Most liked first; the stable sort keeps file order among equals.
        self.popular = np.argsort(-self.likes, kind="stable")
        self.folded_names = [name.casefold() for name in self.names]
        self.gram = item_gram(self.item_factors)

    @classmethod
    def from_artifact(cls, model, sha256):
        """Build from a :class:`training.artifact.Model` and its file's sha256."""
        exponent = float(model.meta.get("similarity_exponent", COSINE))
        vectors, norms = neighbour_space(model.item_factors, exponent)
        return cls(
            vectors=vectors,
            norms=norms,
            exponent=exponent,
            item_factors=np.asarray(model.item_factors, dtype=np.float32),
            mids=model.mids.tolist(),
            names=model.names.tolist(),
            likes=model.like_counts.astype(np.int64),
            likes_by_model=model.model_users,
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
        return self.row_of.get(mid)

    def card(self, row):
        """``{"mid", "name", "likes"}`` of one model."""
        return {"mid": self.mids[row], "name": self.names[row], "likes": int(self.likes[row])}

    def similar(self, row, k):
        """Up to ``k`` most similar models, best first: cards with ``score`` and ``co_likes``."""
        rows, scores = similar_rows(self.vectors, self.norms, self.exponent, row, k)
        shared = co_likes(self.likes_by_model, row, rows)
        return [
            {**self.card(r), "score": round(float(s), 6), "co_likes": int(c)}
            for r, s, c in zip(rows.tolist(), scores, shared, strict=False)
        ]

    def search(self, text):
        """Rows whose name contains ``text`` (case-insensitive), most liked first."""
        needle = text.casefold()
        return [row for row in self.popular.tolist() if needle in self.folded_names[row]]

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
            {**self.card(r), "score": round(float(s), 6), "because": self.mids[b]}
            for r, s, b in zip(
                found.rows.tolist(), found.scores, found.because.tolist(), strict=True
            )
        ]
