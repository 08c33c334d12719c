"""Thumbnails against a fake Sketchfab API over real HTTP, with a real SQLite cache.

The route answers at once; look-ups run on the client's background threads,
so a test asks until the answer settles (``resolved``), as the browser script
does.
"""

import logging
import sqlite3
import time
from datetime import timedelta

import pytest
from requests_cache import SQLiteCache

from webapp.thumbnails import sketchfab as sketchfab_module
from webapp.thumbnails.thumbnail_cache import SERIALIZER

SETTLE_SECONDS = 3.0


def is_placeholder(response):
    return response.status_code == 200 and response.mimetype == "image/svg+xml"


def max_age(response):
    return response.cache_control.max_age


def resolved(client, mid, seconds=SETTLE_SECONDS):
    """Ask for ``mid``'s thumbnail until it is no longer "pending" (max-age 5); the last answer."""
    deadline = time.monotonic() + seconds
    while True:
        response = client.get(f"/thumbnails/{mid}")
        if not (is_placeholder(response) and max_age(response) == 5):
            return response
        if time.monotonic() > deadline:
            raise AssertionError(f"{mid} still pending after {seconds} s")
        time.sleep(0.02)


def wait_for_hits(sketchfab, count, seconds=SETTLE_SECONDS):
    deadline = time.monotonic() + seconds
    while len(sketchfab.hits) < count and time.monotonic() < deadline:
        time.sleep(0.01)


def cached_answers(path):
    """requests-cache's own view of the cache file at ``path``."""
    return SQLiteCache(path, serializer=SERIALIZER)


def only_answer(app):
    """The one API answer in ``app``'s cache file."""
    (answer,) = cached_answers(app.config["THUMBNAIL_CACHE"]).responses.values()
    return answer


def age_answers(app, days):
    """Make every cached API answer ``days`` older, through requests-cache's own backend."""
    answers = cached_answers(app.config["THUMBNAIL_CACHE"])
    for key in list(answers.responses.keys()):
        answer = answers.responses[key]
        answer.created_at -= timedelta(days=days)
        answer.expires -= timedelta(days=days)
        answers.responses[key] = answer
    answers.close()


def end_the_back_off(app):
    """Make the API's hold end now, as if its time had passed."""
    with sqlite3.connect(app.config["THUMBNAIL_CACHE"]) as db:
        db.execute("UPDATE holds SET until = 0 WHERE key = 'api'")


def test_redirects_to_the_smallest_image_at_least_200_wide(client, sketchfab, demo_model):
    mid = demo_model.mids[0]
    response = resolved(client, mid)
    assert response.status_code == 302
    assert response.location == f"{sketchfab.origin}/images/{mid}/256.png"
    assert max_age(response) == 24 * 3600


def test_an_unknown_thumbnail_answers_a_short_lived_placeholder_at_once(
    client, sketchfab, demo_model
):
    sketchfab.default = "slow"  # 1 s per answer
    started = time.monotonic()
    response = client.get(f"/thumbnails/{demo_model.mids[0]}")
    assert time.monotonic() - started < 0.2
    assert is_placeholder(response) and max_age(response) == 5


def test_a_second_look_up_is_answered_from_requests_cache_sqlite_file(
    make_app, sketchfab, demo_model
):
    mid = demo_model.mids[1]
    assert resolved(make_app(demo_model.path).test_client(), mid).status_code == 302
    assert sketchfab.hits == [mid]
    path = make_app(demo_model.path).config["THUMBNAIL_CACHE"]
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    answers = cached_answers(path)
    assert [a.url for a in answers.responses.values()] == [f"{sketchfab.url}/models/{mid}"]
    # A new app (think: another worker, or a restart) on the same file asks nobody.
    fresh = make_app(demo_model.path).test_client().get(f"/thumbnails/{mid}")
    assert fresh.status_code == 302 and sketchfab.hits == [mid]
    # It was requests-cache's file that answered: without its entry, the API is asked again.
    answers.responses.clear()
    assert resolved(make_app(demo_model.path).test_client(), mid).status_code == 302
    assert sketchfab.hits == [mid, mid]


def test_an_answer_with_vary_is_still_read_from_the_cache(client, sketchfab, demo_model):
    mid = demo_model.mids[2]
    sketchfab.modes[mid] = "vary"  # "Vary: *" would send a cache-only read to the network
    assert resolved(client, mid).status_code == 302
    started = time.monotonic()
    assert client.get(f"/thumbnails/{mid}").status_code == 302
    assert time.monotonic() - started < 0.2 and sketchfab.hits == [mid]


@pytest.mark.parametrize(
    "mode",
    ["404", "429", "500", "503", "bad-json", "hang", "redirect", "crlf", "nested", "huge"],
)
def test_every_fault_gives_a_placeholder(client, sketchfab, demo_model, mode):
    mid = demo_model.mids[3]
    sketchfab.modes[mid] = mode
    response = resolved(client, mid)
    assert is_placeholder(response)
    assert b'width="320" height="180"' in response.data
    assert sketchfab.hits == [mid]  # a redirect is not followed


def test_a_trickling_answer_is_cut_at_the_deadline(client, sketchfab, demo_model):
    mid = demo_model.mids[3]
    sketchfab.modes[mid] = "trickle"  # a 200 spread over 12 s; the deadline is 0.5 s
    started = time.monotonic()
    response = resolved(client, mid)
    assert is_placeholder(response) and max_age(response) == 60
    assert time.monotonic() - started < 2.0


def test_a_huge_answer_is_not_read_past_the_cap(client, sketchfab, demo_model):
    mid = demo_model.mids[3]
    sketchfab.modes[mid] = "huge"  # 100 MB; the cap is 1 MB
    started = time.monotonic()
    response = resolved(client, mid)
    assert is_placeholder(response) and max_age(response) == 60
    assert time.monotonic() - started < 1.0


def test_unreachable_api_gives_placeholders(make_app, demo_model):
    client = make_app(demo_model.path, SKETCHFAB_API_URL="http://127.0.0.1:9/v3").test_client()
    assert is_placeholder(resolved(client, demo_model.mids[0]))
    assert max_age(client.get(f"/thumbnails/{demo_model.mids[1]}")) == 60


@pytest.mark.parametrize("mode", ["500", "bad-json", "redirect", "nested"])
def test_a_failure_holds_further_calls(client, sketchfab, demo_model, mode):
    sketchfab.default = mode
    first, second = demo_model.mids[:2]
    assert is_placeholder(resolved(client, first))
    response = client.get(f"/thumbnails/{second}")
    assert is_placeholder(response) and max_age(response) == 60
    time.sleep(0.1)
    assert sketchfab.hits == [first]  # no call at all while the API is held


def test_back_off_doubles_and_a_success_resets_it(app, sketchfab, demo_model, settle):
    client = app.test_client()
    sketchfab.default = "500"
    db_path = app.config["THUMBNAIL_CACHE"]
    streaks = []
    for mid in demo_model.mids[:3]:
        resolved(client, mid)
        with sqlite3.connect(db_path) as db:
            until, streak = db.execute(
                "SELECT until, streak FROM holds WHERE key = 'api'"
            ).fetchone()
            streaks.append((streak, round(until - time.time())))
        end_the_back_off(app)
    assert streaks == [(1, 10), (2, 20), (3, 40)]
    sketchfab.default = "ok"
    assert resolved(client, demo_model.mids[3]).status_code == 302
    settle(app)  # requests-cache keeps the answer a moment before the look-up ends the streak
    with sqlite3.connect(db_path) as db:
        assert db.execute("SELECT streak FROM holds WHERE key = 'api'").fetchone() == (0,)


def test_a_hanging_api_is_logged_once_per_back_off(client, sketchfab, demo_model, caplog, settle):
    sketchfab.default = "hang"
    mids = demo_model.mids[:12]
    with caplog.at_level(logging.INFO, logger="webapp"):
        for mid in mids:  # queued together: the first failures end together
            assert is_placeholder(client.get(f"/thumbnails/{mid}"))
        settle(client.application)
        for mid in mids:
            resolved(client, mid)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "no answer within 0.5 s" in warnings[0].getMessage()
    assert not any(r.exc_info for r in caplog.records)
    assert len(sketchfab.hits) <= 4  # one look-up per resolver thread at most


def test_a_crlf_image_url_is_never_cached(app, sketchfab, demo_model):
    mid = demo_model.mids[4]
    sketchfab.modes[mid] = "crlf"
    client = app.test_client()
    for _ in range(3):
        response = resolved(client, mid)
        assert is_placeholder(response) and max_age(response) == 3600
    assert len(cached_answers(app.config["THUMBNAIL_CACHE"]).responses) == 0


def test_images_from_other_origins_are_refused(make_app, sketchfab, demo_model):
    app = make_app(demo_model.path, SKETCHFAB_IMAGE_ORIGINS="https://media.sketchfab.com")
    response = resolved(app.test_client(), demo_model.mids[0])
    assert is_placeholder(response) and max_age(response) == 3600


def test_a_bad_answer_is_not_cached(client, sketchfab, demo_model):
    mid = demo_model.mids[4]
    sketchfab.modes[mid] = "bad-json"
    assert is_placeholder(resolved(client, mid))
    sketchfab.modes[mid] = "ok"
    end_the_back_off(client.application)
    assert resolved(client, mid).status_code == 302
    assert sketchfab.hits == [mid, mid]


def test_a_404_is_remembered(client, sketchfab, demo_model):
    mid = demo_model.mids[5]
    sketchfab.modes[mid] = "404"
    for _ in range(3):
        response = resolved(client, mid)
        assert is_placeholder(response)
    assert max_age(response) == 3600
    assert sketchfab.hits == [mid]


def test_after_a_429_no_request_until_retry_after(client, sketchfab, demo_model):
    limited, other, cached = demo_model.mids[6], demo_model.mids[7], demo_model.mids[8]
    assert resolved(client, cached).status_code == 302
    sketchfab.modes[limited] = "429"
    sketchfab.retry_after = "1"
    assert is_placeholder(resolved(client, limited))
    assert is_placeholder(client.get(f"/thumbnails/{other}"))
    # Cached answers still work while calls are held.
    assert client.get(f"/thumbnails/{cached}").status_code == 302
    assert sketchfab.hits == [cached, limited]
    time.sleep(1.1)
    assert resolved(client, other).status_code == 302
    assert sketchfab.hits == [cached, limited, other]


def test_a_stale_image_is_shown_while_the_api_fails(app, sketchfab, demo_model):
    mid = demo_model.mids[9]
    client = app.test_client()
    assert resolved(client, mid).status_code == 302
    age_answers(app, days=3)  # past expire_after (2 days), within stale_if_error (14 more)
    sketchfab.default = "500"
    assert client.get(f"/thumbnails/{mid}").status_code == 302  # and a refresh is queued
    wait_for_hits(sketchfab, 2)
    settled = time.monotonic() + 0.3
    while time.monotonic() < settled:  # the failed refresh neither deletes nor hides it
        assert client.get(f"/thumbnails/{mid}").status_code == 302
    assert sketchfab.hits == [mid, mid]  # held after the failure: no more calls
    with sqlite3.connect(app.config["THUMBNAIL_CACHE"]) as db:
        assert db.execute("SELECT streak FROM holds WHERE key = 'api'").fetchone() == (1,)


def test_a_stale_image_is_refreshed_while_it_is_shown(client, sketchfab, demo_model):
    mid = demo_model.mids[9]
    assert resolved(client, mid).status_code == 302
    age_answers(client.application, days=3)
    assert client.get(f"/thumbnails/{mid}").status_code == 302
    wait_for_hits(sketchfab, 2)
    deadline = time.monotonic() + SETTLE_SECONDS
    while only_answer(client.application).is_expired:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert sketchfab.hits == [mid, mid]


def test_an_image_past_the_stale_window_is_not_shown(client, sketchfab, demo_model):
    mid = demo_model.mids[9]
    assert resolved(client, mid).status_code == 302
    age_answers(client.application, days=17)  # 2 + 14 days and more
    sketchfab.default = "500"
    response = client.get(f"/thumbnails/{mid}")
    assert is_placeholder(response) and max_age(response) == 5


def test_old_answers_and_ended_holds_are_pruned_once_a_day(
    app, make_app, sketchfab, demo_model, monkeypatch
):
    first, second, third, fourth = demo_model.mids[3:7]
    client = app.test_client()
    assert resolved(client, first).status_code == 302
    age_answers(app, days=17)  # past what is ever shown (2 + 14 days)
    assert resolved(client, second).status_code == 302  # not a day since the last prune
    assert len(cached_answers(app.config["THUMBNAIL_CACHE"]).responses) == 2
    with sqlite3.connect(app.config["THUMBNAIL_CACHE"]) as db:
        db.executemany(
            "INSERT INTO holds (key, until, streak) VALUES (?, ?, ?)",
            [("missing:ended", 0, 0), ("missing:on", time.time() + 600, 0), ("api", 0, 2)],
        )
    another_process = make_app(demo_model.path).test_client()  # same cache file
    assert resolved(another_process, third).status_code == 302  # its first look-up prunes
    answers = cached_answers(app.config["THUMBNAIL_CACHE"]).responses.values()
    assert sorted(a.url.rsplit("/", 1)[1] for a in answers) == sorted([second, third])
    with sqlite3.connect(app.config["THUMBNAIL_CACHE"]) as db:
        holds = {key for (key,) in db.execute("SELECT key FROM holds")}
    assert holds == {"missing:on", "api"}  # the ended back-off keeps its streak
    age_answers(app, days=17)
    monkeypatch.setattr(sketchfab_module, "PRUNE_EVERY", 0.0)
    assert resolved(client, fourth).status_code == 302  # a day later: prunes before it asks
    answers = cached_answers(app.config["THUMBNAIL_CACHE"]).responses.values()
    assert [a.url.rsplit("/", 1)[1] for a in answers] == [fourth]


def test_offline_never_calls_the_api(make_app, sketchfab, demo_model):
    client = make_app(demo_model.path, OFFLINE="true").test_client()
    response = client.get(f"/thumbnails/{demo_model.mids[0]}")
    assert is_placeholder(response) and sketchfab.hits == []


def test_mids_outside_the_model_are_not_looked_up(client, sketchfab):
    assert is_placeholder(client.get("/thumbnails/not-in-the-model"))
    time.sleep(0.05)
    assert sketchfab.hits == []


def test_placeholder_shows_escaped_initials(hostile_client, sketchfab):
    sketchfab.default = "404"
    response = resolved(hostile_client, "aaa111")
    svg = response.get_data(as_text=True)
    assert is_placeholder(response)
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert ">S</text>" in svg  # initials take letters and digits only


def test_a_full_backlog_answers_at_once(make_app, sketchfab, demo_model, monkeypatch):
    monkeypatch.setattr(sketchfab_module, "LOOKUP_THREADS", 1)
    monkeypatch.setattr(sketchfab_module, "BACKLOG", 1)
    sketchfab.default = "slow"
    client = make_app(demo_model.path).test_client()
    started = time.monotonic()
    answers = [max_age(client.get(f"/thumbnails/{mid}")) for mid in demo_model.mids[:8]]
    assert time.monotonic() - started < 0.5
    # One look-up runs, at most one waits; the rest are refused at once (try again later).
    assert answers[0] == 5 and answers.count(60) >= 6
