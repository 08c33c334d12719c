"""The Sketchfab client's pure parts: which image is chosen, how Retry-After is read."""

import time

import pytest

from webapp.thumbnails.sketchfab import choose_image, retry_after


@pytest.mark.parametrize(
    "images, expected",
    [
        (
            [
                {"url": "https://x/1024", "width": 1024},
                {"url": "https://x/256", "width": 256},
                {"url": "https://x/200", "width": 200},
                {"url": "https://x/100", "width": 100},
            ],
            "https://x/200",
        ),
        (
            [{"url": "https://x/64", "width": 64}, {"url": "https://x/150", "width": 150}],
            "https://x/150",
        ),
        (
            [{"url": "javascript:alert(1)", "width": 300}, {"url": "https://x/90", "width": 90}],
            "https://x/90",
        ),
        ([{"url": "https://x/a", "width": "big"}, {"width": 300}, "junk"], None),
        ([], None),
        ("not a list", None),
    ],
)
def test_image_choice(images, expected):
    assert choose_image(images) == expected


def test_retry_after_reads_seconds_and_dates():
    assert retry_after("5") == 5
    assert retry_after(None) == 60
    assert retry_after("soon") == 60
    assert retry_after("nan") == 60
    assert retry_after("999999") == 3600
    future = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 120))
    assert 100 < retry_after(future) <= 120
