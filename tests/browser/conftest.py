"""The ``browser`` fixture: headless Debian Chromium through Playwright.

Playwright and axe-core come with the test lock (``requirements-dev.txt``);
without them this folder is skipped, so the other tests run on the run lock
alone.
"""

import pytest

pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
pytest.importorskip("axe_playwright_python", reason="axe-playwright-python is not installed")

from tests.browser.chromium import launch_chromium  # noqa: E402 (after the skips)


@pytest.fixture
def browser():
    """Headless Debian Chromium through Playwright (skipped when missing, failed under CI=true)."""
    yield from launch_chromium()
