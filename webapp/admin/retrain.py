"""What a retrain job runs: ``python -m training`` steps for "tune first" or chosen parameters.

Every job evaluates before it fits, so each candidate model comes with test
p@k, similar-list recall (simk) and their popularity baselines to compare
against: "tune first" searches a small grid (by successive halving unless
the full grid is asked for), the similarity exponent included, and fits the
pick by simk; chosen parameters run a one-configuration search (a learning
curve up to the chosen iterations) and fit those, with the exponent whose
lists did best.
"""

from dataclasses import dataclass, field

from training.core import DEFAULT_ITERATIONS, Params

TUNE_GRID = {"factors": "20,40,80", "regularization": "0.01,0.1,1", "alpha": "10,50,100"}
# Scored at every checkpoint of every fit, so they add evaluation, not fits.
TUNE_EXPONENTS = "1,0.75,0.5,0.25,0"
TUNE_EPOCHS = "2:24:2"


@dataclass
class RetrainPlan:
    """A retrain as the admin asked for it: "tune first" (by ``strategy``, ``halving`` or
    ``grid``), or ``params`` for ``iterations``."""

    likes_path: str
    tune: bool
    params: Params = field(default_factory=Params)
    iterations: int = DEFAULT_ITERATIONS
    strategy: str = "halving"

    def grid_size(self):
        """Number of configurations the search step runs."""
        if not self.tune:
            return 1
        size = 1
        for values in TUNE_GRID.values():
            size *= len(values.split(","))
        return size

    def describe(self):
        """One line for the job list."""
        if self.tune:
            how = "by successive halving" if self.strategy == "halving" else "on the full grid"
            return f"tune {how} ({self.grid_size()} configurations) and fit"
        p = self.params
        return (
            f"fit {p.factors} factors, regularization {p.regularization:g}, "
            f"alpha {p.alpha:g}, {self.iterations} iterations"
        )

    def steps(self, results_path, candidate_path):
        """Argument lists for ``python -m training``: a search, then a fit from it."""
        if self.tune:
            grid = [f"--{key}={values}" for key, values in TUNE_GRID.items()]
            grid += [f"--similarity-exponent={TUNE_EXPONENTS}", f"--strategy={self.strategy}"]
            epochs, fit_extra = TUNE_EPOCHS, []
        else:
            p = self.params
            grid = [
                f"--factors={p.factors}",
                f"--regularization={p.regularization!r}",
                f"--alpha={p.alpha!r}",
            ]
            epochs, fit_extra = f"1:{self.iterations + 1}:1", [f"--iterations={self.iterations}"]
        search = ["search", self.likes_path, f"--out={results_path}", *grid, f"--epochs={epochs}"]
        fit = [
            "fit",
            self.likes_path,
            f"--out={candidate_path}",
            f"--from-search={results_path}",
            *fit_extra,
        ]
        return [search, fit]
