"""Scoring factors on a split's test users: p@k, simk and MSE at one checkpoint, and baselines."""

from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from . import metrics
from .core.fold_in import item_gram
from .split import draw_queries

NAN = float("nan")
SIM_K = 10  # the similar list's length on a model page
EXPONENTS = (1.0, 0.5, 0.0)  # similarity exponents tried: cosine, half the length, dot product


@dataclass
class Checkpoint:
    """Metrics after ``epoch`` ALS iterations, over the split's test users (NaN if diverged).

    ``simk_train``/``simk_test`` hold one value per similarity exponent of the
    :class:`Evaluation`, in its order.
    """

    epoch: int
    patk_train: float
    patk_test: float
    mse_train: float
    mse_test: float
    simk_train: tuple = ()
    simk_test: tuple = ()


class Evaluation:
    """Scores factors on a :class:`training.split.Split`'s test users.

    p@k as in :func:`training.metrics.precision_at_k`; similar-list recall
    (simk) at ``sim_k`` for each of ``exponents`` as in
    :func:`training.metrics.similar_list_recall`, each test user asking for
    the neighbours of one of their train likes, drawn once with ``seed``; MSE
    of the preference p_ui (1 for a like, 0 elsewhere; what WRMF fits) over
    every model of the test users' rows, on train likes and on test likes.
    """

    def __init__(self, split, k, sim_k=SIM_K, exponents=EXPONENTS, seed=0):
        self.users = split.users
        self.train = _preference(split.train[split.users])
        self.test = _preference(split.test[split.users])
        self.popularity = metrics.popularity_scores(split.train)
        self.queries = draw_queries(split.train, split.users, seed)
        self.k, self.sim_k, self.exponents = k, sim_k, tuple(float(e) for e in exponents)

    def __call__(self, epoch, user_factors, item_factors):
        """The :class:`Checkpoint` of factors float [users, f] and [models, f]."""
        x, y = user_factors[self.users], item_factors
        if not (np.isfinite(x).all() and np.isfinite(y).all()):
            return self.diverged(epoch)
        # BLAS threads spin while waiting for each other and stall when other
        # work shares the cores (10x slower measured on 2 cores);
        # the metrics run their own threads instead.
        with threadpool_limits(1, "blas"):
            patk_train, patk_test = metrics.precision_at_k(x, y, self.train, self.test, self.k)
            simk_train, simk_test = self._simk(y)
            x, y = x.astype(np.float64), y.astype(np.float64)
            gram = item_gram(y)
            return Checkpoint(
                epoch,
                patk_train,
                patk_test,
                metrics.mse(x, y, self.train, gram),
                metrics.mse(x, y, self.test, gram),
                tuple(simk_train.tolist()),
                tuple(simk_test.tolist()),
            )

    def diverged(self, epoch):
        """The all-NaN :class:`Checkpoint` of a fit that failed or went non-finite."""
        nans = (NAN,) * len(self.exponents)
        return Checkpoint(epoch, NAN, NAN, NAN, NAN, nans, nans)

    def _simk(self, item_vectors, exponents=None):
        return metrics.similar_list_recall(
            item_vectors,
            self.queries,
            self.train,
            self.test,
            self.sim_k,
            self.exponents if exponents is None else exponents,
        )

    def popularity_patk(self):
        """Test p@k of offering each test user the unliked models with the most train likes."""
        ones = np.ones((len(self.users), 1))
        with threadpool_limits(1, "blas"):
            return metrics.precision_at_k(
                ones, self.popularity[:, None], self.train, self.test, self.k
            )[1]

    def popularity_simk(self):
        """Test simk of a "similar" list of the ``sim_k`` most liked models the user has not liked.

        With one-dimensional item vectors (the popularity) and exponent 0,
        every query's score of model j is j's popularity.
        """
        with threadpool_limits(1, "blas"):
            return float(self._simk(self.popularity[:, None], exponents=(0.0,))[1][0])


def _preference(likes):
    p = likes.astype(np.float64)
    p.data[:] = 1.0
    return p
