"""Retrain plans: the steps parse as the training CLI's, "tune first" searches the exponent."""

from training.cli import build_parser
from webapp.admin.retrain import TUNE_EXPONENTS, RetrainPlan


def test_tune_first_searches_the_similarity_exponent_and_fits_the_simk_pick():
    search, fit = (
        build_parser().parse_args(s)
        for s in RetrainPlan("l.psv", tune=True).steps("r.json", "c.npz")
    )
    assert search.similarity_exponent == tuple(float(e) for e in TUNE_EXPONENTS.split(","))
    assert len(search.similarity_exponent) > 1 and 1.0 in search.similarity_exponent
    assert fit.from_search == "r.json" and fit.objective == "similar"


def test_tune_first_halves_unless_the_full_grid_is_asked_for():
    plan = RetrainPlan("l.psv", tune=True)
    assert build_parser().parse_args(plan.steps("r.json", "c.npz")[0]).strategy == "halving"
    grid = RetrainPlan("l.psv", tune=True, strategy="grid")
    assert build_parser().parse_args(grid.steps("r.json", "c.npz")[0]).strategy == "grid"
    assert "on the full grid" in grid.describe()
