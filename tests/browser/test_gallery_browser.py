"""The gallery in a real browser: Debian's Chromium driven by Playwright, the app on real HTTP.

Playwright cannot download its own browser here, so it launches
``/usr/bin/chromium``. Missing Chromium skips the test, except under
``CI=true`` where it fails. Screenshots land in ``test-artifacts/``.
"""

import pytest

from tests.browser.chromium import scroll_images_into_view, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ALL_IMAGES_LOADED = "() => [...document.images].every(i => i.complete && i.naturalWidth > 0)"


def all_images_load(page):
    """Scroll each (lazy) image into view, then wait until every one has a natural size."""
    scroll_images_into_view(page)
    page.wait_for_function(ALL_IMAGES_LOADED, timeout=10_000)


def test_a_visit_from_the_gallery_to_the_explorer(browser, live_url):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(live_url + "/")
    assert page.locator(".card").count() == 48
    all_images_load(page)
    shot(page, "gallery")

    # Search for the noun of the most liked model ("Low-poly knight #12" -> "knight").
    first_name = page.locator(".card-title").first.inner_text()
    word = first_name.split()[1]
    page.fill("input[name=q]", word)
    page.click("form.search button")
    page.wait_for_url("**/search?q=*")
    titles = page.locator(".card-title").all_inner_texts()
    assert titles and all(word.lower() in title.lower() for title in titles)
    shot(page, "search")

    page.locator(".card-title a").first.click()
    page.wait_for_url("**/models/*")
    model_url = page.url
    assert page.locator(".grid .card").count() == 10
    all_images_load(page)
    shot(page, "model")

    similar = page.locator(".grid .card-title a").first
    similar_name = similar.inner_text()
    similar.click()
    page.wait_for_url("**/models/*")
    assert page.url != model_url
    assert page.locator("h1").inner_text() == similar_name
    all_images_load(page)

    page.goto(live_url + "/random")
    seen = {page.locator("h1").inner_text()}
    for _ in range(5):  # a random pick may repeat; five presses all repeating is ~1e-12
        page.click("#another")
        page.wait_for_load_state()
        seen.add(page.locator("h1").inner_text())
        if len(seen) > 1:
            break
    assert len(seen) > 1
    all_images_load(page)
    shot(page, "random")

    phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone.goto(model_url)
    all_images_load(phone)
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(phone, "model-phone")
