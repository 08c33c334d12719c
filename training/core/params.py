"""WRMF hyper-parameters and their defaults, in one place.

The CLI, the admin retrain form and its template all read the defaults from
here. Importing this module loads no ``implicit`` (web workers import it).
"""

from dataclasses import dataclass

DEFAULT_ITERATIONS = 22  # with Params' defaults: the reference post's best configuration


@dataclass(frozen=True)
class Params:
    """WRMF hyper-parameters: latent factors, L2 regularization, confidence alpha.

    The defaults are the reference post's best; the CLI, the admin retrain
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
