"""Retrain plans: the steps are valid pipeline specs, "tune first" searches the exponent."""

from training.core.halving import Strategy
from training.core.params import Params
from training.core.steps import FitChoice, FitStep, Grid, SearchStep, SplitSettings, from_spec
from webapp.admin.retrain import TUNE_EXPONENTS, RetrainPlan


def test_tune_first_searches_the_similarity_exponent_and_fits_the_simk_pick():
    search, fit = (from_spec(s) for s in RetrainPlan("l.psv", tune=True).steps("r.json", "c.npz"))
    assert isinstance(search, SearchStep) and isinstance(fit, FitStep)
    assert search.split.similarity_exponents == TUNE_EXPONENTS
    assert len(TUNE_EXPONENTS) > 1 and 1.0 in TUNE_EXPONENTS
    assert search.out == "r.json" and search.likes.path == "l.psv"
    assert fit.choice.from_search == "r.json" and fit.choice.objective == "similar"
    assert fit.out == "c.npz"


def test_tune_first_halves_unless_the_full_grid_is_asked_for():
    plan = RetrainPlan("l.psv", tune=True)
    assert from_spec(plan.steps("r.json", "c.npz")[0]).strategy.name == "halving"
    grid = RetrainPlan("l.psv", tune=True, strategy="grid")
    assert from_spec(grid.steps("r.json", "c.npz")[0]).strategy == Strategy("grid")
    assert "on the full grid" in grid.describe()


def test_chosen_parameters_run_one_curve_to_their_iterations_and_fit_them():
    plan = RetrainPlan("l.psv", tune=False, params=Params(8, 0.5, 20.0), iterations=7)
    search, fit = (from_spec(s) for s in plan.steps("r.json", "c.npz"))
    assert search.grid == Grid((8,), (0.5,), (20.0,)) and search.epochs == range(1, 8)
    assert search.split == SplitSettings() and plan.grid_size() == 1
    assert fit.choice == FitChoice(from_search="r.json", iterations=7)
