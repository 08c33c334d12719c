"""The JSON API and the neighbour search behind it, on real artifacts."""

from collections import Counter

import numpy as np
import pytest
from conftest import write_artifact

from training.likes import file_sha256


def test_similar_has_the_contract_shape(client, demo_model):
    mid = demo_model.mids[0]
    body = client.get(f"/api/models/{mid}/similar?k=5").get_json()
    assert set(body) == {"mid", "name", "likes", "similarity_exponent", "similar"}
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


def test_neighbours_rank_by_the_artifacts_similarity_exponent(make_app, tmp_path):
    # Model 1 points along model 0; model 2 a little aside but 3.6x longer.
    factors = np.array([[1, 0], [0.5, 0], [3, 2], [0, 1]], dtype=np.float32)
    likes = np.eye(4, dtype=np.float32)
    mids = ["m0", "m1", "m2", "m3"]
    for exponent, order, top_score in (
        (1.0, ["m1", "m2", "m3"], 1.0),
        (0.0, ["m2", "m1", "m3"], 3.0),
    ):
        path = str(tmp_path / f"model-{exponent}.npz")
        write_artifact(path, factors, mids, mids, likes, similarity_exponent=exponent)
        with make_app(path).test_client() as client:
            body = client.get("/api/models/m0/similar?k=3").get_json()
            assert body["similarity_exponent"] == exponent
            assert [item["mid"] for item in body["similar"]] == order
            assert body["similar"][0]["score"] == pytest.approx(top_score, rel=1e-6)
            html = client.get("/models/m0").get_data(as_text=True)
            assert ("lifts often liked models" in html) == (exponent != 1.0)
