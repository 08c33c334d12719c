"""Every page under the Content-Security-Policy in Chromium: no violation, real thumbnails.

A real gunicorn server (admin on) against the fake Sketchfab API, whose images
come from 127.0.0.1: the allowed image origins come from configuration.
"""

import os

import pytest

from tests.admin_server import PASSWORD, AdminServer
from tests.browser.chromium import scroll_images_into_view

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REAL = "img => img.naturalWidth === 256"  # the fake API's chosen image; placeholders are 320
ALL_REAL = f"() => [...document.querySelectorAll('img')].every({REAL})"
SETTLED = (
    "() => [...document.images].every(i => i.complete && i.naturalWidth > 0"
    " && (i.naturalWidth === 256 || i.dataset.retried || i.naturalWidth === 320))"
)
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) =>
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI}`));
"""


@pytest.fixture
def site(tmp_path, demo_model, sketchfab):
    likes = os.path.join(os.path.dirname(demo_model.path), "likes.psv")
    server = AdminServer(str(tmp_path), demo_model.path, likes)
    server.env.update(
        SKETCHREC_OFFLINE="false",
        SKETCHREC_SKETCHFAB_API_URL=sketchfab.url,
        SKETCHREC_SKETCHFAB_IMAGE_ORIGINS=sketchfab.origin,
    )
    yield server.start()
    server.stop()


def watched_page(context, seen):
    """A new page whose CSP complaints (console or violation events) land in ``seen``."""
    page = context.new_page()
    page.add_init_script(REPORT_VIOLATIONS)
    page.on(
        "console",
        lambda m: (
            seen.append(m.text) if "Content Security Policy" in m.text or "CSP" in m.text else None
        ),
    )
    return page


def visit(page, url):
    response = page.goto(url)
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    scroll_images_into_view(page)
    page.wait_for_function(SETTLED, timeout=15_000)


def test_every_page_runs_under_the_policy(browser, site, demo_model, sketchfab):
    sketchfab.modes[demo_model.mids[1]] = "404"  # one placeholder that stays
    context = browser.new_context(http_credentials={"username": "admin", "password": PASSWORD})
    seen = []
    page = watched_page(context, seen)
    for path in [
        "/",
        "/?page=2",
        f"/models/{demo_model.mids[0]}",
        f"/models/{demo_model.mids[1]}",
        "/random",
        "/search",
        "/search?q=a",
        "/no-such-page",
        "/admin",
    ]:
        visit(page, site.url + path)
        assert not seen, (path, seen)
    page.goto(site.url + "/")
    page.wait_for_function(ALL_REAL.replace("every", "some"), timeout=15_000)

    # A job page while it runs (its script polls the job's JSON) and when it is done.
    page.goto(site.url + "/admin")
    page.check("input[name=mode][value=params]")
    page.fill("input[name=iterations]", "2")
    page.uncheck("input[name=activate]")
    page.click("form.retrain button[type=submit]")
    page.wait_for_url("**/admin/jobs/*")
    page.wait_for_function("() => document.querySelector('[data-running=false]')", timeout=60_000)
    assert page.locator("#job-status").inner_text() == "succeeded"
    assert not seen, seen
    context.close()


def test_gallery_images_arrive_without_a_reload_then_come_from_the_cache(browser, site, sketchfab):
    sketchfab.latency = 0.2  # a healthy API far away
    first = browser.new_context()
    page = first.new_page()
    page.goto(site.url + "/")
    scroll_images_into_view(page)
    page.wait_for_function(ALL_REAL, timeout=15_000)
    assert page.locator("img").count() == 48
    assert sorted(set(sketchfab.hits)) == sorted(sketchfab.hits)  # one look-up per model
    looked_up = len(sketchfab.hits)
    first.close()

    second = browser.new_context()  # a new visitor: nothing in the browser's cache
    page = second.new_page()
    page.goto(site.url + "/")
    scroll_images_into_view(page)
    page.wait_for_function(ALL_REAL, timeout=5_000)
    assert page.evaluate("[...document.images].filter(i => i.dataset.retried).length") == 0
    assert len(sketchfab.hits) == looked_up
    second.close()
