"""Headless Chromium for the browser tests: Debian's ``chromium`` driven by Playwright.

Playwright cannot download its own browser here, so it launches
``/usr/bin/chromium`` (``make chromium`` installs it). A missing Chromium
skips the browser tests, except under ``CI=true`` where it fails them.
Screenshots land in ``test-artifacts/``.
"""

import os

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "test-artifacts"
)
# Without the background-networking flags Chromium keeps dialling out of this closed network.
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def launch_chromium():
    """Yield a Playwright browser on Debian's Chromium (the body of the ``browser`` fixture)."""
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is missing (make chromium installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield browser
        browser.close()


def shot(page, name):
    """Save a full-page screenshot as ``test-artifacts/<name>.png``."""
    os.makedirs(ARTIFACTS, exist_ok=True)
    page.screenshot(path=os.path.join(ARTIFACTS, f"{name}.png"), full_page=True)


def scroll_images_into_view(page):
    """Scroll each (lazy) image into view so that it loads, then back to the top."""
    for image in page.locator("img").all():
        image.scroll_into_view_if_needed()
    page.evaluate("window.scrollTo(0, 0)")
