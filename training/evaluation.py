"""Scoring factors on a split's test users: p@k and MSE at one checkpoint, and the baseline."""

from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from . import metrics

NAN = float("nan")


@dataclass
class Checkpoint:
    """Metrics after ``epoch`` ALS iterations, over the split's test users (NaN if diverged)."""

    epoch: int
    patk_train: float
    patk_test: float
    mse_train: float
    mse_test: float


class Evaluation:
    """Scores factors on a :class:`training.split.Split`'s test users.

    p@k as in :func:`training.metrics.precision_at_k`; MSE of the preference
    p_ui (1 for a like, 0 elsewhere; what WRMF fits) over every model of the
    test users' rows, on train likes and on test likes.
    """

    def __init__(self, split, k):
        self.users = split.users
        self.train = _preference(split.train[split.users])
        self.test = _preference(split.test[split.users])
        self.popularity = metrics.popularity_scores(split.train)
        self.k = k

    def __call__(self, epoch, user_factors, item_factors):
        """The :class:`Checkpoint` of factors float [users, f] and [models, f]."""
        x, y = user_factors[self.users], item_factors
        if not (np.isfinite(x).all() and np.isfinite(y).all()):
            return Checkpoint(epoch, NAN, NAN, NAN, NAN)
        # BLAS threads spin while waiting for each other and stall when other
        # work shares the cores (10x slower measured on 2 cores);
        # precision_at_k runs its own threads instead.
        with threadpool_limits(1, "blas"):
            patk_train, patk_test = metrics.precision_at_k(x, y, self.train, self.test, self.k)
            x, y = x.astype(np.float64), y.astype(np.float64)
            gram = metrics.item_gram(y)
            return Checkpoint(
                epoch,
                patk_train,
                patk_test,
                metrics.mse(x, y, self.train, gram),
                metrics.mse(x, y, self.test, gram),
            )

    def popularity_patk(self):
        """Test p@k of offering each test user the unliked models with the most train likes."""
        ones = np.ones((len(self.users), 1))
        with threadpool_limits(1, "blas"):
            return metrics.precision_at_k(
                ones, self.popularity[:, None], self.train, self.test, self.k
            )[1]


def _preference(likes):
    p = likes.astype(np.float64)
    p.data[:] = 1.0
    return p
