"""Deduplication, iterative thresholding and the confidence matrix."""

import numpy as np

from training.confidence import confidence
from training.core.likes import read_likes, write_likes
from training.core.prepare import prepare, threshold

from tests.training_helpers import write_grid


def naive_threshold(pairs, min_user, min_model):
    """The post's loop on a set of (user, model) pairs."""
    pairs = set(pairs)
    while True:
        start = len(pairs)
        per_user = {}
        for u, _ in pairs:
            per_user[u] = per_user.get(u, 0) + 1
        pairs = {(u, m) for u, m in pairs if per_user[u] >= min_user}
        per_model = {}
        for _, m in pairs:
            per_model[m] = per_model.get(m, 0) + 1
        pairs = {(u, m) for u, m in pairs if per_model[m] >= min_model}
        if len(pairs) == start:
            return pairs


def test_user_drops_below_minimum_only_after_a_model_is_removed():
    # "late" likes 5 models, one of which (m_rare) has only 4 likes: the first
    # pass removes m_rare, the second pass removes "late" (now 4 likes).
    pairs = [("late", f"m{i}") for i in range(4)] + [("late", "m_rare")]
    pairs += [(f"fan{j}", "m_rare") for j in range(3)]
    pairs += [(f"fan{j}", f"m{i}") for j in range(3) for i in range(4)]
    pairs += [(f"fan{j}", "m4") for j in range(3)]
    pairs += [(f"crowd{j}", f"m{i}") for j in range(3) for i in range(5)]
    users = sorted({u for u, _ in pairs})
    models = sorted({m for _, m in pairs})
    user = np.array([users.index(u) for u, _ in pairs], dtype=np.int32)
    model = np.array([models.index(m) for _, m in pairs], dtype=np.int32)
    keep = threshold(user, model, 5, 5)
    kept = {(users[u], models[m]) for u, m in zip(user[keep], model[keep], strict=False)}
    assert not any(u == "late" or m == "m_rare" for u, m in kept)
    assert kept == naive_threshold(pairs, 5, 5)
    assert kept  # the fans and the crowd survive


def test_threshold_matches_the_reference_loop_on_random_likes():
    rng = np.random.default_rng(7)
    for _ in range(5):
        user = rng.integers(0, 60, 900).astype(np.int32)
        model = (rng.zipf(1.6, 900) % 80).astype(np.int32)
        unique = sorted(set(zip(user.tolist(), model.tolist(), strict=False)))
        u, m = (np.array(x, dtype=np.int32) for x in zip(*unique, strict=False))
        keep = threshold(u, m, 4, 3)
        kept = set(zip(u[keep].tolist(), m[keep].tolist(), strict=True))
        assert kept == naive_threshold(unique, 4, 3)


def test_duplicates_are_counted_and_dropped(tmp_path):
    path = str(tmp_path / "likes.psv")
    write_grid(path, 6, 6, extra=[("name 0", "m0", "u0")] * 3 + [("renamed", "m1", "u2")])
    prepared = prepare(read_likes(path))
    assert prepared.duplicates == 4
    assert prepared.after.likes == 36
    assert prepared.likes.shape == (6, 6)
    assert prepared.likes.max() == 1.0  # a repeated like does not count twice
    assert prepared.report()[0] == "Duplicated rows: 4"


def test_matrix_mapping_is_first_appearance_order(tmp_path):
    path = str(tmp_path / "likes.psv")
    write_grid(path, 5, 5)
    prepared = prepare(read_likes(path))
    assert prepared.mids.tolist() == [f"m{i}" for i in range(5)]
    assert prepared.uids.tolist() == [f"u{i}" for i in range(5)]
    assert prepared.names.tolist() == [f"name {i}" for i in range(5)]
    assert prepared.likes.dtype == np.float32
    assert prepared.report()[-1] == "Sparsity: 100.000%"


def test_confidence_is_one_plus_alpha_times_d(tmp_path):
    path = tmp_path / "likes.psv"
    rows = [(f"n{m}", f"m{m}", f"u{u}", (u + m) % 4 + 1) for u in range(5) for m in range(5)]
    write_likes(str(path), rows, with_count=True)
    prepared = prepare(read_likes(str(path)))
    d = prepared.likes.toarray()
    for alpha in (0.0, 1.0, 50.0, 1000.0):
        c = confidence(prepared.likes, alpha)
        assert c.dtype == np.float32
        np.testing.assert_array_equal(
            c.toarray(), np.where(d > 0, 1 + alpha * d, 0).astype(np.float32)
        )
    assert d[0, 0] == 1 and d[1, 2] == 4
