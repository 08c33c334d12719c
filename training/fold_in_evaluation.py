"""Does fold-in place users the model never saw? The quality check behind "For you".

On the post's split (:func:`training.split.split_likes`) with its
test users' p@k (:func:`training.metrics.precision_at_k`, ranking only models
a user did not like in training):

- **trained**: WRMF fitted on every training like, test users included (what
  ``search`` reports);
- **folded in**: WRMF fitted without the test users' rows, each test user
  then folded in from their training likes (:mod:`training.core.fold_in`);
- **folded in from few**: the same, from only ``few`` of their training likes
  drawn at random; the other training likes stay out of the ranking, so every
  row ranks the same candidates;
- **popularity**: the unliked models with the most training likes.
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from . import log_table, metrics, wrmf
from .confidence import confidence
from .core import fold_in
from .evaluation import Evaluation
from .split import sample_likes, split_likes

COLUMNS = ["users", "p@k test", "/ trained", "/ popularity"]
WIDTH = 22  # characters per table column: room for the row labels


@dataclass
class FoldInReport:
    """Test p@k of the same test users, four ways (see the module docstring)."""

    k: int
    test_users: int
    few: int
    trained: float
    folded: float
    folded_few: float
    popularity: float

    def lines(self):
        """The post's log table of the four p@k, with ratios."""
        rows = [
            ("trained", self.trained),
            ("folded in", self.folded),
            (f"folded in, {self.few} likes", self.folded_few),
            ("popularity", self.popularity),
        ]
        header = [c.replace("p@k", f"p@{self.k}") for c in COLUMNS]
        lines = [f"Test users: {self.test_users}"] + log_table.header_lines(header, WIDTH)
        for label, patk in rows:
            cells = [label, patk, _ratio(patk, self.trained), _ratio(patk, self.popularity)]
            lines += log_table.row_lines(cells, WIDTH)
        return lines


def evaluate_fold_in(likes, params, iterations, settings, few=3):
    """The :class:`FoldInReport` of a users x models likes CSR.

    ``params`` :class:`training.core.params.Params`, ``iterations`` ALS sweeps,
    ``settings`` :class:`training.search.SplitSettings` (its ``seed`` also
    seeds the fits and the draw of ``few`` likes). Two fits of the given size.
    """
    split = split_likes(likes, settings.split_count, settings.fraction, settings.seed)
    evaluation = Evaluation(split, settings.k)
    trained = wrmf.fit(split.train, params, iterations, settings.seed)
    checkpoint = evaluation(iterations, trained.user_factors, trained.item_factors)

    without = wrmf.fit(_without_rows(split.train, split.users), params, iterations, settings.seed)
    y = without.item_factors
    gram = fold_in.item_gram(y)
    known = split.train[split.users]
    few_likes = sample_likes(known, few, settings.seed)

    def patk(user_likes):
        c = confidence(user_likes, params.alpha)
        x = fold_in.user_vectors(y, gram, c, params.regularization).astype(np.float32)
        with threadpool_limits(1, "blas"):
            return metrics.precision_at_k(x, y, known, split.test[split.users], settings.k)[1]

    return FoldInReport(
        k=settings.k,
        test_users=len(split.users),
        few=few,
        trained=checkpoint.patk_test,
        folded=patk(known),
        folded_few=patk(few_likes),
        popularity=evaluation.popularity_patk(),
    )


def _without_rows(likes, rows):
    """``likes`` (CSR) with ``rows`` emptied; same shape, so model columns keep their meaning."""
    keep = np.ones(likes.shape[0])
    keep[rows] = 0
    kept = sp.diags(keep) @ likes
    kept.eliminate_zeros()
    return sp.csr_matrix(kept)


def _ratio(value, reference):
    return f"{value / reference:.2f}x" if reference > 0 else "-"
