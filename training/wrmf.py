"""Weighted Regularized Matrix Factorization fitted by ALS with ``implicit``.

Hu, Koren & Volinsky (2008). ``implicit`` does the alternating least squares;
this module fixes the parts Sketchrec relies on: the paper's confidence
(built by :func:`training.confidence.confidence`, passed with ``alpha=1``),
a seeded ``random_state``, the CPU solver, and one BLAS thread while fitting
(``implicit`` warns otherwise and runs about twice as slow on 2 cores).
"""

from implicit.cpu.als import AlternatingLeastSquares
from threadpoolctl import threadpool_limits

from .confidence import confidence


class WRMF:
    """A WRMF model that can be trained further (warm start).

    ``train(likes, n)`` runs ``n`` more ALS iterations from the current
    factors, so a learning curve costs one fit. ``user_factors`` is float32
    [users, factors]; ``item_factors`` float32 [models, factors].
    """

    def __init__(self, params, seed=0):
        self.params = params
        self.iterations = 0
        with threadpool_limits(1, "blas"):
            self._als = AlternatingLeastSquares(
                factors=params.factors,
                regularization=params.regularization,
                alpha=1.0,
                iterations=0,
                random_state=seed,
            )

    def train(self, likes, iterations, confidence_matrix=None):
        """Run ``iterations`` more ALS sweeps on a users x models likes CSR (d_ui).

        Pass ``confidence_matrix`` to reuse one built by the caller.
        """
        if iterations <= 0:
            return self
        c = (
            confidence_matrix
            if confidence_matrix is not None
            else confidence(likes, self.params.alpha)
        )
        self._als.iterations = iterations
        with threadpool_limits(1, "blas"):
            self._als.fit(c, show_progress=False)
        self.iterations += iterations
        return self

    def restore(self, user_factors, item_factors, iterations):
        """Continue from factors saved after ``iterations`` sweeps: float32 [users, f], [models, f].

        ALS starts each sweep from the current factors (the conjugate-gradient
        solver from both), so training on gives what one longer fit gives.
        """
        self._als.user_factors, self._als.item_factors = user_factors, item_factors
        self.iterations = iterations
        return self

    @property
    def user_factors(self):
        return self._als.user_factors

    @property
    def item_factors(self):
        return self._als.item_factors


def fit(likes, params, iterations, seed=0, on_iteration=None):
    """Fit WRMF from scratch on a users x models likes CSR; return the :class:`WRMF`.

    ``on_iteration(done)``, if given, is called after each ALS iteration
    (progress bars); one iteration at a time gives the same factors as one
    call, but re-transposes the matrix each time (about 5% at the post's size).
    """
    model = WRMF(params, seed)
    c = confidence(likes, params.alpha)
    if on_iteration is None:
        return model.train(likes, iterations, confidence_matrix=c)
    for done in range(1, iterations + 1):
        model.train(likes, 1, confidence_matrix=c)
        on_iteration(done)
    return model
