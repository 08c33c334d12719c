"""The WRMF wrapper: warm starts and progress callbacks do not change the factors."""

import numpy as np

from training.core.likes import read_likes
from training.core.params import Params
from training.core.prepare import prepare
from training.wrmf import WRMF, fit

from tests.training_helpers import write_grid


def test_one_iteration_at_a_time_and_warm_starts_give_the_same_factors(tmp_path):
    path = str(tmp_path / "likes.psv")
    write_grid(path, 12, 9)
    likes = prepare(read_likes(path)).likes
    params = Params(4, 0.1, 10)
    done = []
    stepwise = fit(likes, params, 5, seed=1, on_iteration=done.append)
    at_once = fit(likes, params, 5, seed=1)
    warm = WRMF(params, seed=1).train(likes, 2).train(likes, 3)
    assert done == [1, 2, 3, 4, 5] and warm.iterations == 5
    for model in (stepwise, warm):
        np.testing.assert_array_equal(model.item_factors, at_once.item_factors)
        np.testing.assert_array_equal(model.user_factors, at_once.user_factors)
    other_seed = fit(likes, params, 5, seed=2)
    assert not np.array_equal(other_seed.item_factors, at_once.item_factors)
