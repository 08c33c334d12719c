"""WCAG 2.1 AA in a real browser: axe-core's rules over every page, and a walk by keyboard alone.

axe-core (bundled by ``axe-playwright-python``, nothing fetched at run time) runs
in Debian's Chromium over each page and state below. A critical, serious or
moderate violation fails the test, which prints each rule, element and, for
colour contrast, the measured figures. A page added later is one more line in
``PUBLIC_PAGES`` (a path, ``{mid}``/``{word}`` filled in) or ``ADMIN_PAGES``
(a step that brings the browser to the page, in order).
"""

import pytest

from tests.admin_server import PASSWORD
from tests.browser.chromium import FAILING_IMPACTS, axe_violations, describe_violations, focus_ring

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PUBLIC_PAGES = [
    ("gallery", "/"),
    ("gallery page 2", "/?page=2"),
    ("model", "/models/{mid}"),
    ("random", "/random"),
    ("search form", "/search"),
    ("search with results", "/search?q={word}"),
    ("search with no results", "/search?q=zzzz-no-such-model"),
    ("search with a pasted link", "/search?q=https://sketchfab.com/3d-models/a-model-{mid}"),
    ("404", "/models/no-such-model"),
    ("for you without hearts", "/for-you"),
]

# Every element that can take focus, and the ones Tab skips by design.
FOCUSABLE = "a[href], button, input, select, textarea, summary, [tabindex]"
SKIPPED = (
    ":disabled, input[type=hidden], "
    "input[type=radio]:not(:checked)"
)  # one Tab stop per radio group: the checked one


def audit(page, name):
    """The failing violations on ``page`` as printable lines (minor ones printed, not returned)."""
    violations = axe_violations(page)
    for line in describe_violations([v for v in violations if v["impact"] not in FAILING_IMPACTS]):
        print(f"{name}: {line}")
    return [
        f"{name}: {line}"
        for line in describe_violations([v for v in violations if v["impact"] in FAILING_IMPACTS])
    ]


@pytest.fixture
def places(demo_model):
    """What the page paths are filled with: a model's mid and a word in many names."""
    return {"mid": demo_model.mids[0], "word": "knight"}


@pytest.mark.parametrize("name, path", PUBLIC_PAGES, ids=[name for name, _ in PUBLIC_PAGES])
def test_public_page_has_no_accessibility_violation(browser, live_url, places, name, path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(live_url + path.format(**places))
    problems = audit(page, name)
    assert not problems, "\n".join(problems)


def test_for_you_with_hearts_has_no_accessibility_violation(browser, live_url, demo_model):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(live_url + "/")
    hearts = [{"mid": mid, "name": mid} for mid in demo_model.mids[:3]]
    page.evaluate("h => localStorage.setItem('sketchrec.hearts', JSON.stringify(h))", hearts)
    page.goto(live_url + "/for-you")
    page.locator("#for-you-grid .card").first.wait_for()
    problems = audit(page, "for you with hearts") + audit_after_hearts(page)
    assert not problems, "\n".join(problems)


def audit_after_hearts(page):
    """The gallery with its heart buttons shown (the script reveals them)."""
    page.goto(page.url.rsplit("/", 1)[0] + "/")
    page.locator("button.heart:not([hidden])").first.wait_for()
    return audit(page, "gallery with hearts")


def test_thumbnails_and_placeholders_are_named_after_their_model(browser, live_url, places):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    for path in ("/", "/models/{mid}"):
        page.goto(live_url + path.format(**places))
        cards = page.evaluate("""() => [...document.querySelectorAll('.card')].map(card =>
            [card.querySelector('img').alt, card.querySelector('.card-title').textContent])""")
        assert cards and all(alt == title for alt, title in cards)
    assert page.locator(".hero-image").get_attribute("alt") == page.locator("h1").inner_text()


def assert_focus_is_visible(page):
    tag, text, outline = focus_ring(page)
    style, width = outline.split()
    assert style == "solid" and float(width.removesuffix("px")) >= 2, (tag, text, outline)


def tab_to(page, selector, limit=80):
    """Press Tab until the focused element matches ``selector``; every stop shows its focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        assert_focus_is_visible(page)
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{limit} presses of Tab never reached {selector}")


def press_enter_and_load(page):
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_model_page_and_random_by_keyboard_alone(browser, live_url):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(live_url + "/random")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == "#content"
    assert_focus_is_visible(page)
    page.keyboard.press("Enter")  # the skip link: the next Tab lands past the header
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('main') !== null")
    tab_to(page, "#another")
    press_enter_and_load(page)
    assert page.url.endswith("/random")

    open_the_first_card_by_keyboard(page)

    tab_to(page, "input[name=q]")
    page.keyboard.type("knight")
    press_enter_and_load(page)
    assert page.url.endswith("/search?q=knight")
    open_the_first_card_by_keyboard(page)


def open_the_first_card_by_keyboard(page):
    """Tab to the first card's title link, Enter: its model page opens."""
    tab_to(page, ".grid .card-title a")
    name = page.evaluate("document.activeElement.textContent")
    press_enter_and_load(page)
    assert "/models/" in page.url and page.locator("h1").inner_text() == name


def tab_stops(page, limit=200):
    """Indices (in document order) of the focusable elements that Tab visits, once round."""
    page.evaluate(
        "s => document.querySelectorAll(s).forEach((el, i) => el.dataset.tab = i)", FOCUSABLE
    )
    stops = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        index = page.evaluate("document.activeElement.dataset.tab")
        if index is None or int(index) in stops:
            return stops
        assert_focus_is_visible(page)
        stops.append(int(index))
    raise AssertionError(f"Tab did not come round in {limit} presses")


def tab_reachable(page):
    """Indices of the focusable elements a keyboard user should reach with Tab."""
    return page.evaluate(
        """([all, skipped]) => [...document.querySelectorAll(all)]
        .map((el, i) => [el, i]).filter(([el]) => !el.matches(skipped) && el.checkVisibility())
        .map(([, i]) => i)""",
        [FOCUSABLE, SKIPPED],
    )


def assert_every_control_is_a_tab_stop(page):
    stops = tab_stops(page)
    missed = sorted(set(tab_reachable(page)) - set(stops))
    assert not missed, page.evaluate(
        "ix => ix.map(i => document.querySelector(`[data-tab='${i}']`).outerHTML)", missed
    )


def open_admin(page, url):
    page.goto(url + "/admin")
    assert_every_control_is_a_tab_stop(page)


def start_tuning_by_keyboard(page, url):
    page.goto(url + "/admin")
    tab_to(page, "form.retrain button[type=submit]")
    press_enter_and_load(page)
    assert "/admin/jobs/" in page.url
    assert page.locator("[data-running=true]").count() == 1


def wait_for_the_job_to_finish(page, url):
    page.wait_for_function(  # a function, not an expression string: the CSP forbids eval
        "() => document.querySelector('[data-running=false]')"
        " && document.getElementById('job-status').textContent === 'succeeded'",
        timeout=180_000,
    )
    page.wait_for_selector("#curves svg")
    assert_every_control_is_a_tab_stop(page)


def open_the_curve_tables(page, url):
    tab_to(page, "#curves summary")
    page.keyboard.press("Enter")
    assert page.locator("#curves details[open] table").count() == 2


ADMIN_PAGES = [
    ("admin", open_admin),
    ("running job", start_tuning_by_keyboard),
    ("finished job with curves", wait_for_the_job_to_finish),
    ("finished job's curve tables", open_the_curve_tables),
]


def test_admin_pages_have_no_accessibility_violation(browser, fresh_admin_server):
    context = browser.new_context(
        http_credentials={"username": "admin", "password": PASSWORD},
        viewport={"width": 1100, "height": 900},
    )
    page = context.new_page()
    problems = []
    for name, step in ADMIN_PAGES:
        step(page, fresh_admin_server.url)
        problems += audit(page, name)
    context.close()
    assert not problems, "\n".join(problems)
