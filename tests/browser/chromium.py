"""Headless Chromium for the browser tests: Debian's ``chromium`` driven by Playwright.

Playwright cannot download its own browser here, so it launches
``/usr/bin/chromium`` (``make chromium`` installs it). A missing Chromium
skips the browser tests, except under ``CI=true`` where it fails them.
Screenshots land in ``test-artifacts/``.
"""

import os

import pytest
from axe_playwright_python.sync_playwright import Axe

CHROMIUM = "/usr/bin/chromium"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ARTIFACTS = os.path.join(ROOT, "test-artifacts")
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


# axe-core impacts that fail the accessibility tests; "minor" ones are printed only.
FAILING_IMPACTS = ("critical", "serious", "moderate")


def axe_violations(page):
    """axe-core's violations on ``page``, as dicts with ``id``, ``impact``, ``help``, ``nodes``.

    The rules are those axe enables by default: WCAG 2.0/2.1 A and AA and best
    practices (not the experimental ones, nor WCAG 2.2's).
    """
    return Axe().run(page, options={"resultTypes": ["violations"]}).response["violations"]


def describe_violations(violations):
    """One line per failing element: impact, rule, target and, for contrast, the figures."""
    lines = []
    for violation in violations:
        for node in violation["nodes"]:
            target = " ".join(map(str, node["target"]))
            line = f"{violation['impact']} {violation['id']} at {target}"
            data = next(
                (
                    c["data"]
                    for c in node["any"]
                    if isinstance(c.get("data"), dict) and "contrastRatio" in c["data"]
                ),
                None,
            )
            if data:  # color-contrast has fg/bg colours; link-in-text-block link/text ones
                colours = " on ".join(
                    data[k] for k in ("fgColor", "bgColor", "nodeColor", "parentColor") if k in data
                )
                line += (
                    f": contrast {data['contrastRatio']}:1, needs"
                    f" {data.get('expectedContrastRatio', '3:1')} ({colours})"
                )
            lines.append(f"{line} [{violation['help']}]")
    return lines


def focus_ring(page):
    """``(tag, text, outline)`` of the focused element: the outline style it is drawn with."""
    return page.evaluate("""() => {
        const el = document.activeElement, css = getComputedStyle(el);
        return [el.tagName.toLowerCase(), (el.innerText || el.value || '').trim(),
                `${css.outlineStyle} ${css.outlineWidth}`];
    }""")


def scroll_images_into_view(page):
    """Scroll each (lazy) image into view so that it loads, then back to the top."""
    for image in page.locator("img").all():
        image.scroll_into_view_if_needed()
    page.evaluate("window.scrollTo(0, 0)")
