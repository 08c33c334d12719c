"""Learning curves: one warm-started WRMF fit per configuration, evaluated at each checkpoint.

The post refitted nothing either: it continued ALS from the current factors
between checkpoints. :class:`training.wrmf.WRMF` keeps its factors between
``train`` calls, so a curve over epochs 2, 4, ..., 38 costs 38 iterations.
"""

import time
from dataclasses import dataclass, field

from implicit.recommender_base import ModelFitError

from .confidence import confidence
from .wrmf import WRMF


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


def learning_curve(split, params, epochs, evaluate, seed=0, on_checkpoint=None, model=None):
    """Fit WRMF with ``params`` on ``split.train``, evaluating after each of ``epochs``.

    ``epochs`` is increasing iteration counts; ``evaluate`` an
    :class:`Evaluation`; ``on_checkpoint(checkpoint)`` is called as each one
    is ready (for the log table). ``model``, a :class:`WRMF` trained fewer
    than ``epochs[0]`` iterations, is trained on instead of a fresh one (a
    curve continued in pieces). Returns the :class:`Curve`. If ALS diverges
    (NaN factors), the remaining checkpoints are NaN and ``error`` says so.
    """
    curve = Curve(params)
    model = WRMF(params, seed) if model is None else model
    c = confidence(split.train, params.alpha)
    done = model.iterations
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
            checkpoint = evaluate.diverged(epoch)
        curve.fit_seconds += fitted - started
        curve.eval_seconds += time.perf_counter() - fitted
        curve.checkpoints.append(checkpoint)
        done = epoch
        if on_checkpoint:
            on_checkpoint(checkpoint)
    return curve
