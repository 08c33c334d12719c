"""The bounded transport against the fake API: an overall deadline, a size cap, no gzip."""

import time

import pytest
import requests

from webapp.thumbnails import upstream

CAP = 1024 * 1024


@pytest.fixture
def session():
    with requests.Session() as s:
        yield s


def timed_get(session, url, deadline=0.5):
    """``(response or Unanswered, seconds)`` of one GET through a BoundedAdapter."""
    session.mount("http://", upstream.BoundedAdapter(deadline, CAP))
    started = time.monotonic()
    try:
        return session.get(url, allow_redirects=False), time.monotonic() - started
    except upstream.Unanswered as e:
        return e, time.monotonic() - started


def test_a_model_json_is_read_whole(session, sketchfab):
    answer, _ = timed_get(session, f"{sketchfab.url}/models/abc")
    assert answer.status_code == 200 and upstream.json_body(answer)["uid"] == "abc"


@pytest.mark.parametrize("mode", ["hang", "trickle", "slow"])
def test_the_deadline_bounds_the_whole_answer(session, sketchfab, mode):
    sketchfab.default = mode
    failure, seconds = timed_get(session, f"{sketchfab.url}/models/abc")
    assert isinstance(failure, upstream.Unanswered)
    assert "within 0.5 s" in str(failure)
    assert seconds < 0.8


def test_reading_stops_past_the_cap(session, sketchfab):
    sketchfab.default = "huge"
    failure, seconds = timed_get(session, f"{sketchfab.url}/models/abc", deadline=5)
    assert str(failure) == f"a body larger than {CAP} bytes"
    assert seconds < 2


def test_a_redirect_is_not_followed(session, sketchfab):
    sketchfab.default = "redirect"
    answer, _ = timed_get(session, f"{sketchfab.url}/models/abc")
    assert answer.status_code == 302 and sketchfab.hits == ["abc"]


@pytest.mark.parametrize("mode", ["bad-json", "nested"])
def test_a_body_that_is_not_json_is_unanswered(session, sketchfab, mode):
    sketchfab.default = mode
    answer, _ = timed_get(session, f"{sketchfab.url}/models/abc")
    with pytest.raises(upstream.Unanswered, match="not JSON"):
        upstream.json_body(answer)


def test_an_unreachable_api_is_unanswered(session):
    failure, _ = timed_get(session, "http://127.0.0.1:9/v3/models/abc")
    assert str(failure) == "unreachable (ConnectionError)"


def test_a_compressed_body_is_refused(session, sketchfab):
    sketchfab.default = "gzip"  # a small gzip can expand past any cap
    failure, _ = timed_get(session, f"{sketchfab.url}/models/abc")
    assert str(failure) == "a compressed body although identity was asked for"
