"""The JSON API and the neighbour search behind it, on real artifacts."""

import dataclasses
import json
from collections import Counter

import numpy as np
import pytest

from training.core.likes import file_sha256
from webapp.serving.model_store import EXTENSION

from tests.training_helpers import write_artifact


def test_similar_has_the_documented_shape(client, demo_model):
    mid = demo_model.mids[0]
    body = client.get(f"/api/models/{mid}/similar?k=5").get_json()
    assert set(body) == {"mid", "name", "likes", "similarity_exponent", "similar", "ticket"}
    assert body["similarity_exponent"] == 1.0  # the demo model's meta has none: cosine
    assert body["mid"] == mid
    assert len(body["similar"]) == 5
    for item in body["similar"]:
        assert set(item) == {"mid", "name", "score", "likes", "co_likes"}
        assert isinstance(item["co_likes"], int) and isinstance(item["likes"], int)


def test_similar_excludes_itself_and_is_ordered_by_score(client, demo_model):
    for mid in demo_model.mids[:20]:
        similar = client.get(f"/api/models/{mid}/similar?k=100").get_json()["similar"]
        scores = [item["score"] for item in similar]
        assert mid not in [item["mid"] for item in similar]
        assert scores == sorted(scores, reverse=True)
        assert len(similar) == 100


def test_default_k_is_10(client, demo_model):
    assert len(client.get(f"/api/models/{demo_model.mids[3]}/similar").get_json()["similar"]) == 10


def test_neighbours_share_the_taste_group(client, demo_model):
    """The demo plants taste groups: most of a model's top 5 come from its own group."""
    agree = Counter()
    for mid in demo_model.mids:
        similar = client.get(f"/api/models/{mid}/similar?k=5").get_json()["similar"]
        agree.update(demo_model.group_of[s["mid"]] == demo_model.group_of[mid] for s in similar)
    assert agree[True] / sum(agree.values()) > 0.7


def test_co_likes_and_likes_count_real_users(hostile_client):
    body = hostile_client.get("/api/models/aaa111/similar?k=3").get_json()
    assert body["likes"] == 3
    by_mid = {item["mid"]: item for item in body["similar"]}
    # Users 0, 1 and 2 liked aaa111 and bbb222; user 1 also ccc333, user 2 also ddd444.
    assert by_mid["bbb222"]["co_likes"] == 3
    assert by_mid["ccc333"]["co_likes"] == 1
    assert by_mid["ddd444"]["co_likes"] == 1
    assert [item["mid"] for item in body["similar"]] == ["bbb222", "ccc333", "ddd444"]
    assert by_mid["bbb222"]["score"] == pytest.approx(0.9 / np.hypot(0.9, 0.1), abs=1e-5)
    assert by_mid["ddd444"]["score"] == pytest.approx(-1.0, abs=1e-6)


def test_k_larger_than_the_catalog_gives_every_other_model(hostile_client):
    assert len(hostile_client.get("/api/models/aaa111/similar?k=100").get_json()["similar"]) == 3


@pytest.mark.parametrize("k", ["0", "101", "abc", "-1", "1.5", "", "٣", "99999999999999999999"])
def test_bad_k_is_a_400_json(client, demo_model, k):
    response = client.get(f"/api/models/{demo_model.mids[0]}/similar?k={k}")
    assert response.status_code == 400
    assert "k must be" in response.get_json()["error"]


@pytest.mark.parametrize("k", ["1", "100"])
def test_k_bounds_are_allowed(client, demo_model, k):
    body = client.get(f"/api/models/{demo_model.mids[0]}/similar?k={k}").get_json()
    assert len(body["similar"]) == int(k)


def test_unknown_mid_is_a_404_json(client):
    response = client.get("/api/models/nosuchmodel/similar")
    assert response.status_code == 404
    assert response.is_json and "nosuchmodel" in response.get_json()["error"]


def test_healthz_describes_the_loaded_file(client, demo_model):
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok"
    assert body["model"]["models"] == len(demo_model.mids)
    assert body["model"]["factors"] == 16
    assert body["model"]["sha256"] == file_sha256(demo_model.path)
    assert body["model"]["created_at"]


def recommend(client, body):
    return client.post("/api/recommendations", json=body)


def test_recommendations_have_the_documented_shape(client, demo_model):
    liked = demo_model.mids[:3]
    body = recommend(client, {"likes": [*liked, "nosuchmodel"], "k": 7}).get_json()
    assert set(body) == {"recommendations", "unknown", "ticket"}
    assert body["unknown"] == ["nosuchmodel"]
    assert len(body["recommendations"]) == 7
    for item in body["recommendations"]:
        assert set(item) == {"mid", "name", "score", "likes", "because"}
        assert item["because"] in liked and item["mid"] not in liked
        assert isinstance(item["likes"], int) and isinstance(item["score"], float)
    scores = [item["score"] for item in body["recommendations"]]
    assert scores == sorted(scores, reverse=True)


def test_recommendations_default_to_10_and_ignore_repeated_likes(client, demo_model):
    mid = demo_model.mids[5]
    once = recommend(client, {"likes": [mid]}).get_json()
    twice = recommend(client, {"likes": [mid, mid]}).get_json()
    assert len(once["recommendations"]) == 10 and once == twice
    assert {item["because"] for item in once["recommendations"]} == {mid}


def test_recommendations_follow_the_hearted_taste_group(client, demo_model):
    """Three hearts in one planted category: most recommendations come from it."""
    for group in ("vehicles", "food", "animals"):
        liked = [m for m in demo_model.mids if demo_model.group_of[m] == group][:3]
        found = recommend(client, {"likes": liked, "k": 10}).get_json()["recommendations"]
        same = sum(demo_model.group_of[item["mid"]] == group for item in found)
        assert same >= 7, (group, same)


def test_only_unknown_or_no_likes_recommend_nothing(client):
    body = recommend(client, {"likes": []}).get_json()
    assert (body["recommendations"], body["unknown"]) == ([], [])
    body = recommend(client, {"likes": ["x", "y", "x"]}).get_json()
    assert (body["recommendations"], body["unknown"]) == ([], ["x", "y"])


def test_recommendations_need_no_csrf_token(app, client, demo_model):
    # CSRF protection is on for this app (the admin forms rely on it) ...
    assert app.config.get("WTF_CSRF_ENABLED", True) and "csrf" in app.extensions
    # ... and a plain POST without a token is still answered.
    response = client.post(
        "/api/recommendations",
        data=json.dumps({"likes": demo_model.mids[:1]}),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[]",
        "null",
        '"likes"',
        "{}",
        '{"likes": "abc"}',
        '{"likes": [1, 2]}',
        '{"likes": [["abc"]]}',
        '{"likes": ["abc"], "k": 0}',
        '{"likes": ["abc"], "k": 101}',
        '{"likes": ["abc"], "k": 2.5}',
        '{"likes": ["abc"], "k": "10"}',
        '{"likes": ["abc"], "k": true}',
        '{"likes": ["abc"], "k": null}',
        "[" * 1000,
        '{"likes": ' * 1000,
        b"\xff\xfe{",
    ],
)
def test_bad_recommendation_bodies_are_a_400_json(client, body):
    response = client.post(
        "/api/recommendations", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.is_json and response.get_json()["error"]


def test_a_fold_in_solve_that_fails_answers_503_json(app, client, demo_model):
    # Loading refuses such factors; a catalog whose solves fail anyway answers 503, not 500.
    store = app.extensions[EXTENSION]
    catalog = store.get()
    params = {**catalog.meta["params"], "regularization": 0.0}
    store._catalog = dataclasses.replace(
        catalog,
        item_factors=np.zeros_like(catalog.item_factors),
        gram=np.zeros_like(catalog.gram),
        meta={**catalog.meta, "params": params},
    )
    response = recommend(client, {"likes": demo_model.mids[:1]})
    assert response.status_code == 503 and "cannot be computed" in response.get_json()["error"]


def test_at_most_500_likes(client, demo_model):
    likes = [f"m{i}" for i in range(500)]
    assert recommend(client, {"likes": likes}).status_code == 200
    response = recommend(client, {"likes": [*likes, demo_model.mids[0]]})
    assert response.status_code == 400
    assert "501" in response.get_json()["error"]


def test_k_bounds_of_recommendations(client, demo_model):
    liked = demo_model.mids[:2]
    assert len(recommend(client, {"likes": liked, "k": 1}).get_json()["recommendations"]) == 1
    assert len(recommend(client, {"likes": liked, "k": 100}).get_json()["recommendations"]) == 100


def test_a_huge_recommendations_body_is_refused(client):
    response = recommend(client, {"likes": ["x" * 70_000]})
    assert response.status_code == 413 and response.is_json


@pytest.mark.parametrize(
    "exponent, order, top_score",
    [(1.0, ["m1", "m2", "m3"], 1.0), (0.0, ["m2", "m1", "m3"], 3.0)],
)
def test_neighbours_rank_by_the_artifacts_similarity_exponent(
    make_app, tmp_path, exponent, order, top_score
):
    # Model 1 points along model 0; model 2 a little aside but 3.6x longer.
    factors = np.array([[1, 0], [0.5, 0], [3, 2], [0, 1]], dtype=np.float32)
    likes = np.eye(4, dtype=np.float32)
    mids = ["m0", "m1", "m2", "m3"]
    path = str(tmp_path / "model.npz")
    write_artifact(path, factors, mids, mids, likes, similarity_exponent=exponent)
    with make_app(path).test_client() as client:
        body = client.get("/api/models/m0/similar?k=3").get_json()
        assert body["similarity_exponent"] == exponent
        assert [item["mid"] for item in body["similar"]] == order
        assert body["similar"][0]["score"] == pytest.approx(top_score, rel=1e-6)
        html = client.get("/models/m0").get_data(as_text=True)
        assert ("lifts often liked models" in html) == (exponent != 1.0)
