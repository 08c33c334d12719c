"""Hearts and the For you page in a real browser: Debian's Chromium, the app on real HTTP."""

import json

import pytest

from tests.browser.chromium import shot
from tests.live_server import serve

pytestmark = [pytest.mark.browser, pytest.mark.slow]

GROUP = "vehicles"
HEADING_LEVELS = """() => [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')]
    .filter(h => h.offsetParent !== null).map(h => Number(h.tagName[1]))"""


@pytest.fixture
def live_url(make_app, demo_model):
    yield from serve(make_app(demo_model.path))


def headings_in_order(page):
    """Visible headings start at h1 and never skip a level going down."""
    levels = page.evaluate(HEADING_LEVELS)
    return levels[0] == 1 and all(b <= a + 1 for a, b in zip(levels, levels[1:], strict=False))


def test_hearts_give_recommendations_from_their_category(browser, live_url, demo_model):
    hearted = [mid for mid in demo_model.mids if demo_model.group_of[mid] == GROUP][:3]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    names = set()
    for press, mid in zip(("click", "Space", "Enter"), hearted, strict=True):
        page.goto(f"{live_url}/models/{mid}")
        heart = page.locator(".hero button.heart")
        names.add(page.locator("h1").inner_text())
        assert heart.get_attribute("aria-pressed") == "false"
        assert heart.get_attribute("aria-label") == "Like " + page.locator("h1").inner_text()
        if press == "click":
            heart.click()
        else:  # the keyboard alone: focus the button, press a key
            heart.focus()
            page.keyboard.press(press)
        assert heart.get_attribute("aria-pressed") == "true"
    assert page.get_by_role("link", name="For you (3)").is_visible()

    # A card's heart toggles too, and a second press takes it back.
    page.goto(live_url + "/")
    card_heart = page.locator(".card button.heart").first
    card_heart.click()
    assert card_heart.get_attribute("aria-pressed") == "true"
    assert page.get_by_role("link", name="For you (4)").is_visible()
    card_heart.click()
    assert card_heart.get_attribute("aria-pressed") == "false"

    page.get_by_role("link", name="For you (3)").click()
    page.wait_for_url("**/for-you")
    cards = page.locator("#for-you-grid .card")
    cards.first.wait_for()
    assert cards.count() == 24
    recommended = [b.get_attribute("data-heart") for b in cards.locator("button.heart").all()]
    assert not set(recommended) & set(hearted)
    same = sum(demo_model.group_of[mid] == GROUP for mid in recommended)
    assert same >= 0.7 * len(recommended), same
    because = cards.locator(".because a").all_inner_texts()
    assert len(because) == 24
    assert set(because) <= names and len(set(because)) >= 2
    assert "24 models for your 3 hearts" in page.locator("#for-you-status").inner_text()
    assert headings_in_order(page)
    for image in cards.locator("img").all():
        assert image.get_attribute("alt")
    shot(page, "for-you")

    page.get_by_role("button", name="Clear all hearts").click()
    assert page.get_by_role("heading", name="No hearts yet").is_visible()
    assert page.locator("#for-you-results").is_hidden()
    assert page.evaluate("localStorage.getItem('sketchrec.hearts')") == "[]"
    assert page.get_by_role("link", name="For you", exact=True).is_visible()
    assert page.get_by_role("link", name="Explore a random model").is_visible()
    assert headings_in_order(page)
    shot(page, "for-you-empty")


def test_at_most_500_hearts(browser, live_url, demo_model):
    page = browser.new_page()
    page.goto(live_url + "/")
    full = [{"mid": f"m{i}", "name": f"Model {i}"} for i in range(500)]
    page.evaluate("hearts => localStorage.setItem('sketchrec.hearts', hearts)", json.dumps(full))
    page.reload()
    assert page.get_by_role("link", name="For you (500)").is_visible()
    heart = page.locator(".card button.heart").first
    heart.click()
    assert heart.get_attribute("aria-pressed") == "false"
    assert "at most 500" in page.get_by_role("status").first.inner_text()
    assert page.get_by_role("link", name="For you (500)").is_visible()


def test_without_javascript_the_page_says_it_needs_it(browser, live_url):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_url + "/for-you")
    assert "needs JavaScript" in page.locator("main").inner_text()
    assert page.locator("#for-you-empty").is_hidden()
    assert page.locator("#for-you-results").is_hidden()
    page.goto(live_url + "/")
    assert page.locator("button.heart").first.is_hidden()  # no dead buttons
    context.close()
