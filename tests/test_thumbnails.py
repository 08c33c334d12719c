"""Thumbnails against a fake Sketchfab API over real HTTP, with a real SQLite cache."""

import sqlite3
import time

import pytest


def is_placeholder(response):
    return response.status_code == 200 and response.mimetype == "image/svg+xml"


def test_redirects_to_the_smallest_image_at_least_200_wide(client, sketchfab, demo_model):
    mid = demo_model.mids[0]
    response = client.get(f"/thumbnails/{mid}")
    assert response.status_code == 302
    assert response.location == f"{sketchfab.origin}/images/{mid}/256.png"
    assert "max-age" in response.headers["Cache-Control"]


def test_second_lookup_comes_from_the_sqlite_cache(app, sketchfab, demo_model):
    mid = demo_model.mids[1]
    assert app.test_client().get(f"/thumbnails/{mid}").status_code == 302
    assert sketchfab.hits == [mid]
    # A new app (think: another worker) on the same file still needs no request.
    fresh = app.test_client().get(f"/thumbnails/{mid}")
    assert fresh.status_code == 302 and sketchfab.hits == [mid]
    with sqlite3.connect(app.config["THUMBNAIL_CACHE"]) as db:
        assert db.execute("SELECT count(*) FROM responses").fetchone()[0] == 1
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_the_cache_survives_a_new_process_state(make_app, sketchfab, demo_model):
    mid = demo_model.mids[2]
    assert make_app(demo_model.path).test_client().get(f"/thumbnails/{mid}").status_code == 302
    again = make_app(demo_model.path).test_client().get(f"/thumbnails/{mid}")
    assert again.status_code == 302 and sketchfab.hits == [mid]


@pytest.mark.parametrize("mode", ["404", "429", "500", "503", "slow", "bad-json"])
def test_every_fault_gives_a_placeholder(client, sketchfab, demo_model, mode):
    mid = demo_model.mids[3]
    sketchfab.modes[mid] = mode
    started = time.monotonic()
    response = client.get(f"/thumbnails/{mid}")
    assert is_placeholder(response)
    assert b'width="320" height="180"' in response.data
    assert time.monotonic() - started < 1.0  # the 0.5 s timeout, not the 1 s answer
    assert sketchfab.hits == [mid]


def test_unreachable_api_gives_placeholders(make_app, demo_model):
    client = make_app(demo_model.path, SKETCHFAB_API_URL="http://127.0.0.1:9/v3").test_client()
    assert is_placeholder(client.get(f"/thumbnails/{demo_model.mids[0]}"))
    assert "max-age=60" in client.get(f"/thumbnails/{demo_model.mids[1]}").headers["Cache-Control"]


def test_a_timeout_holds_further_calls(client, sketchfab, demo_model):
    sketchfab.default = "slow"  # answers after 1 s; the client gives up after 0.5 s
    first, second = demo_model.mids[:2]
    assert is_placeholder(client.get(f"/thumbnails/{first}"))
    response = client.get(f"/thumbnails/{second}")
    assert is_placeholder(response) and "max-age=60" in response.headers["Cache-Control"]
    assert sketchfab.hits == [first]  # no call at all while the API is held


def test_a_bad_answer_is_not_cached(client, sketchfab, demo_model):
    mid = demo_model.mids[4]
    sketchfab.modes[mid] = "bad-json"
    assert is_placeholder(client.get(f"/thumbnails/{mid}"))
    sketchfab.modes[mid] = "ok"
    assert client.get(f"/thumbnails/{mid}").status_code == 302
    assert sketchfab.hits == [mid, mid]


def test_a_404_is_remembered(client, sketchfab, demo_model):
    mid = demo_model.mids[5]
    sketchfab.modes[mid] = "404"
    for _ in range(3):
        response = client.get(f"/thumbnails/{mid}")
        assert is_placeholder(response)
    assert "max-age=3600" in response.headers["Cache-Control"]
    assert sketchfab.hits == [mid]


def test_after_a_429_no_request_until_retry_after(client, sketchfab, demo_model):
    limited, other, cached = demo_model.mids[6], demo_model.mids[7], demo_model.mids[8]
    assert client.get(f"/thumbnails/{cached}").status_code == 302
    sketchfab.modes[limited] = "429"
    sketchfab.retry_after = "1"
    assert is_placeholder(client.get(f"/thumbnails/{limited}"))
    assert is_placeholder(client.get(f"/thumbnails/{other}"))
    # Cached answers still work while calls are held.
    assert client.get(f"/thumbnails/{cached}").status_code == 302
    assert sketchfab.hits == [cached, limited]
    time.sleep(1.1)
    assert client.get(f"/thumbnails/{other}").status_code == 302
    assert sketchfab.hits == [cached, limited, other]


def test_offline_never_calls_the_api(make_app, sketchfab, demo_model):
    client = make_app(demo_model.path, OFFLINE="true").test_client()
    response = client.get(f"/thumbnails/{demo_model.mids[0]}")
    assert is_placeholder(response) and sketchfab.hits == []


def test_mids_outside_the_model_are_not_looked_up(client, sketchfab):
    assert is_placeholder(client.get("/thumbnails/not-in-the-model"))
    assert sketchfab.hits == []


def test_placeholder_shows_escaped_initials(hostile_client, sketchfab):
    sketchfab.default = "404"
    response = hostile_client.get("/thumbnails/aaa111")
    svg = response.get_data(as_text=True)
    assert is_placeholder(response)
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert ">S</text>" in svg  # initials take letters and digits only


def test_a_broken_cache_file_still_gives_placeholders(make_app, demo_model, tmp_path):
    broken = tmp_path / "not-a-db.sqlite"
    broken.write_bytes(b"this is not sqlite" * 100)
    client = make_app(demo_model.path, THUMBNAIL_CACHE=str(broken)).test_client()
    assert is_placeholder(client.get(f"/thumbnails/{demo_model.mids[0]}"))
