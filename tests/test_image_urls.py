"""Which image URLs the API may hand us: a parser's view, not a prefix check."""

import pytest
from werkzeug.utils import redirect

from webapp.thumbnails.image_urls import choose_image, origin_of, parse_origins, usable_image

X = {"https://x"}


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
        ([{"url": "https://x/a", "width": True}], None),
        ([{"url": "https://elsewhere/a.png", "width": 300}], None),
        ([], None),
        ("not a list", None),
    ],
)
def test_image_choice(images, expected):
    assert choose_image(images, X) == expected


@pytest.mark.parametrize(
    "url",
    [
        "https://x/a.png\r\nSet-Cookie: a=1",
        "https://x/a.png\n",
        "https://x/a b.png",
        "https://x/\x00.png",
        "https://x/\x7f.png",
        "https://x/é.png",
        "https://x/a.png\t",
        " https://x/a.png",
        "https://x\\@evil/a.png",
        "https://x:99999/a.png",
        "https://x:port/a.png",
        "https://[x/a.png",
        "https://user:pass@x/a.png",
        "https://x@evil/a.png",
        "//x/a.png",
        "/a.png",
        "ftp://x/a.png",
        "data:image/png;base64,AAAA",
        "https:///a.png",
        "https://x/" + "a" * 3000,
        None,
        42,
    ],
)
def test_malformed_or_foreign_urls_are_refused(url):
    assert choose_image([{"url": url, "width": 300}], X) is None


@pytest.mark.parametrize(
    "url, origin",
    [
        ("https://media.sketchfab.com/models/1/t.jpeg", "https://media.sketchfab.com"),
        ("HTTPS://Media.Sketchfab.com:443/a", "https://media.sketchfab.com"),
        ("http://127.0.0.1:8080/images/a.png?x=1#f", "http://127.0.0.1:8080"),
        ("https://x/a%20b.png", "https://x"),
    ],
)
def test_origins_are_normalised(url, origin):
    assert origin_of(url) == origin


def test_every_accepted_url_makes_a_valid_location_header():
    url = "https://x/a%20b.png?size=256&v=1#top"
    assert choose_image([{"url": url, "width": 300}], X) == url
    assert redirect(url).headers["Location"] == url


def test_usable_image_reads_the_model_json():
    data = {"thumbnails": {"images": [{"url": "https://x/256", "width": 256}]}}
    assert usable_image(data, X) == "https://x/256"
    for odd in ({}, [], "text", {"thumbnails": None}, {"thumbnails": {"images": {}}}, None):
        assert usable_image(odd, X) is None


def test_configured_origins_are_checked():
    assert parse_origins(" https://media.sketchfab.com  http://127.0.0.1:5001 ") == [
        "https://media.sketchfab.com",
        "http://127.0.0.1:5001",
    ]
    with pytest.raises(ValueError, match="'media.sketchfab.com' is not an http"):
        parse_origins("media.sketchfab.com")
