"""Learning curves: one warm-started WRMF fit per configuration, evaluated at each checkpoint.

The seed refitted nothing either: it continued ALS from the current factors
between checkpoints. :class:`training.wrmf.WRMF` keeps its factors between
``train`` calls, so a curve over epochs 2, 4, ..., 38 costs 38 iterations.
"""

import time
from dataclasses import dataclass, field

import numpy as np
from implicit.recommender_base import ModelFitError
from threadpoolctl import threadpool_limits

from . import metrics
from .confidence import confidence
from .wrmf import WRMF

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
            return Checkpoint(epoch, patk_train, patk_test,
                              metrics.mse(x, y, self.train, gram), metrics.mse(x, y, self.test, gram))

    def popularity_patk(self):
        """Test p@k of offering each test user the unliked models with the most train likes."""
        ones = np.ones((len(self.users), 1))
        with threadpool_limits(1, "blas"):
            return metrics.precision_at_k(ones, self.popularity[:, None], self.train, self.test, self.k)[1]


def _preference(likes):
    p = likes.astype(np.float64)
    p.data[:] = 1.0
    return p


@dataclass
class Curve:
    """A configuration's learning curve; seconds split between ALS and evaluation.

    ``error`` says why the fit stopped early (then later checkpoints are NaN).
    """

    params: object
    checkpoints: list = field(default_factory=list)
    fit_seconds: float = 0.0
    eval_seconds: float = 0.0
    error: str = None


def learning_curve(split, params, epochs, evaluate, seed=0, on_checkpoint=None):
    """Fit WRMF with ``params`` on ``split.train``, evaluating after each of ``epochs``.

    ``epochs`` is increasing iteration counts; ``evaluate`` an
    :class:`Evaluation`; ``on_checkpoint(checkpoint)`` is called as each one
    is ready (for the log table). Returns the :class:`Curve`. If ALS diverges
    (NaN factors), the remaining checkpoints are NaN and ``error`` says so.
    """
    curve = Curve(params)
    model = WRMF(params, seed)
    c = confidence(split.train, params.alpha)
    done = 0
    for epoch in epochs:
        started = time.perf_counter()
        try:
            if curve.error is None:
                model.train(split.train, epoch - done, confidence_matrix=c)
        except ModelFitError as e:
            curve.error = f"after {done} iterations: {e}"
        fitted = time.perf_counter()
        if curve.error is None:
            checkpoint = evaluate(epoch, model.user_factors, model.item_factors)
        else:
            checkpoint = Checkpoint(epoch, NAN, NAN, NAN, NAN)
        curve.fit_seconds += fitted - started
        curve.eval_seconds += time.perf_counter() - fitted
        curve.checkpoints.append(checkpoint)
        done = epoch
        if on_checkpoint:
            on_checkpoint(checkpoint)
    return curve
