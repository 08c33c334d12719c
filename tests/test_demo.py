"""On the demo data, WRMF neighbours recover the planted taste groups."""

import numpy as np
import pytest

from training.core.artifact import build_meta, load_model, save_model
from training.core.likes import read_likes
from training.core.params import Params
from training.core.prepare import prepare
from training.demo import write_demo
from training.wrmf import fit

from tests.training_helpers import planted_group_share

pytestmark = pytest.mark.slow


def test_neighbours_share_the_planted_group(tmp_path):
    likes_path = tmp_path / "demo.psv"
    demo = write_demo(str(likes_path))
    prepared = prepare(read_likes(str(likes_path)))
    assert 2500 <= prepared.after.users <= 3000 and 1800 <= prepared.after.models <= 2000
    assert 45_000 <= prepared.after.likes <= 75_000

    model = fit(prepared.likes, Params(), iterations=22, seed=0)
    model_path = tmp_path / "model.npz"
    save_model(
        str(model_path),
        model.item_factors,
        prepared.mids,
        prepared.names,
        prepared.likes,
        build_meta(Params(), 22, {"path": str(likes_path)}),
    )
    loaded = load_model(str(model_path))
    np.testing.assert_array_equal(loaded.item_factors, model.item_factors)

    share = planted_group_share(loaded.item_factors, loaded.mids, demo.group_of)
    assert share.mean() >= 0.8, share.mean()
    # The popular half, which visitors meet first, is at least as clean.
    popular = loaded.like_counts >= np.median(loaded.like_counts)
    assert share[popular].mean() >= share.mean(), share[popular].mean()
