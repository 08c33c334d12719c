"""WRMF hyper-parameters and their defaults, in one place.

The CLI, the admin retrain form and its template all read the defaults from
here. Importing this module loads no ``implicit`` (web workers import it).
"""

from dataclasses import dataclass

DEFAULT_ITERATIONS = 22  # with Params' defaults: the post's best configuration
# The largest values the CLI and the admin form accept: beyond them a fit runs for days,
# or c = 1 + alpha * d overflows the float32 confidences.
MAX_FACTORS = 1024
MAX_ITERATIONS = 1000
MAX_WEIGHT = 1e6  # regularization and alpha


@dataclass(frozen=True)
class Params:
    """WRMF hyper-parameters: latent factors, L2 regularization, confidence alpha.

    The defaults are the post's best; the CLI, the admin retrain
    form and its template all read them from here.
    """

    factors: int = 40
    regularization: float = 0.1
    alpha: float = 50.0

    def as_dict(self):
        """Plain dict for JSON (``factors`` int, the others float)."""
        return {
            "factors": int(self.factors),
            "regularization": float(self.regularization),
            "alpha": float(self.alpha),
        }
