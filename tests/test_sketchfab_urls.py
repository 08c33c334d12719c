"""Sketchfab model links pasted into the search box."""

import pytest

from webapp.pages.sketchfab_urls import mid_from_url


@pytest.mark.parametrize(
    "text",
    [
        "knight",
        "https://example.com/models/abc",
        "sketchfab.com",
        "https://sketchfab.com/search?q=car",
        "http://[::1",
    ],
)
def test_other_text_is_not_a_model_url(text):
    assert mid_from_url(text) is None
