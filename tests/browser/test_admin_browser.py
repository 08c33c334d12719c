"""The operator's walk in a real browser.

Log in, retrain with "tune first", watch it finish, see the curves.
"""

import pytest

from training.core.likes import file_sha256

from tests.admin_server import PASSWORD, served_sha
from tests.browser.chromium import shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def server(fresh_admin_server):
    return fresh_admin_server


def test_operator_retrains_from_the_browser(browser, server):
    context = browser.new_context(
        http_credentials={"username": "admin", "password": PASSWORD},
        viewport={"width": 1100, "height": 900},
    )
    page = context.new_page()
    page.goto(server.url + "/admin")
    assert page.locator("h2", has_text="Active model").count() == 1
    before = page.locator(".facts code").inner_text()
    shot(page, "admin")

    page.check("input[name=mode][value=tune]")
    page.click("form.retrain button[type=submit]")
    page.wait_for_url("**/admin/jobs/*")
    # The page polls while the job runs, then reloads itself once into its final state.
    page.wait_for_function(
        "() => document.querySelector('[data-running=false]')"
        " && document.getElementById('job-status').textContent === 'succeeded'",
        timeout=180_000,  # a ceiling for a loaded machine, not a target
    )
    page.wait_for_selector("#curves svg")
    assert page.locator("#best-patk").inner_text() != "–"
    assert float(page.locator("#best-patk").inner_text()) > float(
        page.locator("#baseline-patk").inner_text()
    )
    assert "activated" in page.locator(".job-status").inner_text()
    shot(page, "admin-job")

    assert served_sha(server, file_sha256(server.model_path))  # reloads run in the background
    page.goto(server.url + "/admin")
    assert page.locator(".facts code").inner_text() != before
    assert page.locator("td.status-succeeded").count() == 1
    context.close()
