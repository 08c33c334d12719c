"""What a retrain job runs: pipeline steps (a search, then a fit) for "tune first" or chosen
parameters, as the JSON specs of :mod:`training.core.steps`.

Every job evaluates before it fits, so each candidate model comes with test
p@k, similar-list recall (simk) and their popularity baselines to compare
against: "tune first" searches a small grid (by successive halving unless
the full grid is asked for), the similarity exponent included, and fits the
pick by simk; chosen parameters run a one-configuration search (a learning
curve up to the chosen iterations) and fit those, with the exponent whose
lists did best.
"""

from dataclasses import dataclass, field

from training.core import (
    DEFAULT_ITERATIONS,
    FitChoice,
    FitStep,
    Grid,
    LikesSource,
    Params,
    SearchStep,
    SplitSettings,
    Strategy,
    to_spec,
)

TUNE_GRID = Grid(factors=(20, 40, 80), regularization=(0.01, 0.1, 1.0), alpha=(10.0, 50.0, 100.0))
# Scored at every checkpoint of every fit, so they add evaluation, not fits.
TUNE_EXPONENTS = (1.0, 0.75, 0.5, 0.25, 0.0)
TUNE_EPOCHS = range(2, 24, 2)


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
        return len(TUNE_GRID.configurations())

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
        """The job's steps as JSON specs: a search into ``results_path``, then a fit from
        it into ``candidate_path``."""
        likes = LikesSource(self.likes_path)
        if self.tune:
            grid, epochs = TUNE_GRID, TUNE_EPOCHS
            split = SplitSettings(similarity_exponents=TUNE_EXPONENTS)
            strategy = Strategy(self.strategy)
            choice = FitChoice(from_search=results_path)
        else:
            p = self.params
            grid = Grid((p.factors,), (p.regularization,), (p.alpha,))
            epochs, split = range(1, self.iterations + 1), SplitSettings()
            strategy = Strategy()
            choice = FitChoice(from_search=results_path, iterations=self.iterations)
        search = SearchStep(likes, results_path, grid, epochs, split, strategy)
        return [to_spec(search), to_spec(FitStep(likes, candidate_path, choice))]
