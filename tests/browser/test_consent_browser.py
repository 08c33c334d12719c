"""Consent in a real browser (Debian's Chromium): no event leaves the page before the visitor
agrees, none after "No" or with Global Privacy Control, and after "Yes" impressions, opens
and hearts arrive at the events file."""

import time

import pytest

from webapp.events import tickets

from tests.browser.chromium import shot
from tests.event_helpers import random_candidate, stored
from tests.live_server import serve

pytestmark = [pytest.mark.browser, pytest.mark.slow]

GPC = "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})"


@pytest.fixture
def live(make_app, demo_model):
    app = make_app(demo_model.path)
    for url in serve(app):
        yield app, url


def recording(context):
    """The requests ``context`` sends to /api/events (beacons included), as they happen."""
    sent = []
    context.on("request", lambda r: sent.append(r) if r.url.endswith("/api/events") else None)
    return sent


def browse(page, url, mid):
    """What a visitor does on a model page: look at the similar cards, heart one, open one."""
    page.goto(f"{url}/models/{mid}?k=12")
    cards = page.locator(".grid .card")
    for card in cards.all():
        card.scroll_into_view_if_needed()
    cards.nth(2).locator("button.heart").click()
    cards.nth(1).locator(".card-title a").click()
    page.wait_for_url("**/models/**")
    page.go_back()
    time.sleep(1.0)  # room for anything queued to leave


def test_nothing_is_sent_before_consent_nor_after_no(browser, live, demo_model):
    app, url = live
    context = browser.new_context()
    sent = recording(context)
    refused = []  # what the Content-Security-Policy blocked
    page = context.new_page()
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)
    page.goto(f"{url}/models/{demo_model.mids[0]}")
    banner = page.get_by_role("region", name="Privacy choice")
    assert banner.is_visible()
    shot(page, "consent-banner")
    browse(page, url, demo_model.mids[0])
    assert sent == [] and stored(app) == []
    assert page.evaluate("localStorage.getItem('sketchrec.visitor')") is None

    banner.get_by_role("button", name="No").click()
    assert banner.count() == 0
    browse(page, url, demo_model.mids[1])
    assert page.get_by_role("region", name="Privacy choice").count() == 0  # asked once
    assert sent == [] and stored(app) == []
    assert page.evaluate("localStorage.getItem('sketchrec.visitor')") is None
    assert refused == []
    context.close()


def test_global_privacy_control_means_no_banner_and_no_events(browser, live, demo_model):
    app, url = live
    context = browser.new_context()
    context.add_init_script(GPC)
    sent = recording(context)
    page = context.new_page()
    browse(page, url, demo_model.mids[0])
    assert page.get_by_role("region", name="Privacy choice").count() == 0
    assert sent == [] and stored(app) == []
    context.close()


def test_after_yes_impressions_opens_and_hearts_are_recorded(browser, live, demo_model):
    app, url = live
    context = browser.new_context()
    sent = recording(context)
    page = context.new_page()
    page.goto(f"{url}/models/{demo_model.mids[0]}")
    page.get_by_role("button", name="Yes, record").click()
    visitor = page.evaluate("localStorage.getItem('sketchrec.visitor')")
    assert len(visitor) == 22
    browse(page, url, demo_model.mids[0])
    deadline = time.monotonic() + 10
    rows = stored(app)
    while not {"impression", "click", "heart"} <= {r["type"] for r in rows}:
        assert time.monotonic() < deadline, rows
        time.sleep(0.1)
        rows = stored(app)
    assert sent  # and Chromium saw them leave
    assert {r["visitor"] for r in rows} == {visitor}
    clicks = [r for r in rows if r["type"] == "click"]
    assert [(c["position"], c["query"]) for c in clicks] == [(1, demo_model.mids[0])]
    impressions = {r["position"] for r in rows if r["type"] == "impression"}
    assert impressions == set(range(12))  # every card scrolled into view
    hearts = [r for r in rows if r["type"] == "heart"]
    assert len(hearts) == 1 and hearts[0]["list"] is None
    context.close()


def test_during_a_trial_a_consenting_visitor_gets_the_interleaved_list(
    browser, make_app, demo_model, tmp_path
):
    candidate = random_candidate(demo_model.path, str(tmp_path / "trial.npz"))
    app = make_app(demo_model.path, TRIAL_MODEL_PATH=candidate)
    mid = demo_model.mids[4]
    client = app.test_client()
    for url in serve(app):
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"{url}/models/{mid}")
        listed = page.locator(".grid .card").evaluate_all("cards => cards.map(c => c.dataset.mid)")
        active = [c["mid"] for c in client.get(f"/api/models/{mid}/similar").get_json()["similar"]]
        assert listed == active  # before consent: the active model's list, no visitor id
        page.get_by_role("button", name="Yes, record").click()
        visitor = page.evaluate("localStorage.getItem('sketchrec.visitor')")
        mine = client.get(f"/api/models/{mid}/similar", query_string={"visitor": visitor})
        expected = [c["mid"] for c in mine.get_json()["similar"]]
        page.wait_for_function(
            "mids => [...document.querySelectorAll('.grid .card')].map(c => c.dataset.mid)"
            ".join() === mids.join()",
            arg=expected,
        )
        assert expected != active
        with app.app_context():
            teams = tickets.read(page.locator(".grid").get_attribute("data-ticket")).teams
        page.locator(".grid .card").nth(3).locator(".card-title a").click()
        page.wait_for_url(f"**/models/{expected[3]}")
        deadline = time.monotonic() + 10
        while not [r for r in stored(app) if r["type"] == "click"]:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        click = next(r for r in stored(app) if r["type"] == "click")
        assert (click["position"], click["mid"]) == (3, expected[3])
        assert click["team"] == {"a": "active", "c": "candidate"}[teams[3]]
        # Impressions counted only the interleaved list, never the page's own.
        impressions = [r for r in stored(app) if r["type"] == "impression"]
        assert impressions and all(r["team"] for r in impressions)
        context.close()
