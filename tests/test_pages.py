"""HTML pages: gallery, model, random explorer, search, errors, escaping."""

import re

import numpy as np
import pytest

from webapp.pages.routes import PAGE_SIZE

from tests.training_helpers import write_artifact


def card_mids(response):
    return re.findall(r'<img src="/thumbnails/([^"]+)"', response.get_data(as_text=True))


def test_gallery_is_paged_most_liked_first(client, demo_model):
    first = client.get("/")
    assert first.status_code == 200
    mids = card_mids(first)
    assert len(mids) == PAGE_SIZE
    likes = [client.get(f"/api/models/{mid}/similar?k=1").get_json()["likes"] for mid in mids]
    assert likes == sorted(likes, reverse=True)
    assert 'rel="next" href="/?page=2"' in first.get_data(as_text=True)
    second = client.get("/?page=2")
    assert set(card_mids(second)).isdisjoint(mids)
    assert 'rel="prev" href="/?page=1"' in second.get_data(as_text=True)


def test_cards_are_lazy_images_with_size_and_alt(client):
    html = client.get("/").get_data(as_text=True)
    images = re.findall(r"<img [^>]*>", html)
    assert images and all(
        'loading="lazy"' in i and 'width="320"' in i and 'height="180"' in i and 'alt="' in i
        for i in images
    )


@pytest.mark.parametrize("page", ["0", "-1", "abc", "1e3", ""])
def test_bad_page_is_a_400_page(client, page):
    response = client.get(f"/?page={page}")
    assert response.status_code == 400 and response.mimetype == "text/html"


def test_page_past_the_end_is_a_404_page(client):
    assert client.get("/?page=999").status_code == 404


def test_model_page_lists_similar_models(client, demo_model):
    mid = demo_model.mids[5]
    html = client.get(f"/models/{mid}").get_data(as_text=True)
    similar = client.get(f"/api/models/{mid}/similar").get_json()["similar"]
    for item in similar:
        assert f'href="/models/{item["mid"]}"' in html
        assert f'href="https://sketchfab.com/3d-models/{item["mid"]}"' in html
    assert "liked both" in html and "match" in html


def test_model_page_takes_k(client, demo_model):
    response = client.get(f"/models/{demo_model.mids[5]}?k=3")
    assert len(card_mids(response)) == 3
    assert "3 similar models" in response.get_data(as_text=True)


@pytest.mark.parametrize("k", ["0", "101", "abc"])
def test_model_page_bad_k_is_a_400_page(client, demo_model, k):
    response = client.get(f"/models/{demo_model.mids[5]}?k={k}")
    assert response.status_code == 400 and b"k must be" in response.data


def test_unknown_mid_is_a_friendly_404_page(client):
    response = client.get("/models/doesnotexist")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert b"Back to the gallery" in response.data


def test_random_shows_a_model_and_another_one_button(client):
    response = client.get("/random")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert 'id="another" href="/random"' in html and "Another one" in html
    assert len(card_mids(response)) == 10


def test_search_matches_names_case_insensitively(client, demo_model):
    response = client.get("/search?q=KNIGHT")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    names = re.findall(r'<h2 class="card-title"><a [^>]*>([^<]*)</a>', html)
    assert names and all("knight" in name.lower() for name in names)


def test_search_without_results_says_so(client):
    assert b"No name contains" in client.get("/search?q=zzzzqqq").data


def test_empty_search_shows_a_hint(client):
    response = client.get("/search?q=+")
    assert response.status_code == 200 and b"paste a Sketchfab link" in response.data


@pytest.mark.parametrize(
    "template",
    [
        "https://sketchfab.com/3d-models/some-long-name-{mid}",
        "https://sketchfab.com/3d-models/{mid}",
        "https://sketchfab.com/models/{mid}",
        "https://sketchfab.com/models/{mid}/embed?autostart=1",
        "sketchfab.com/3d-models/name-{mid}#comments",
        "  {mid}  ",
    ],
)
def test_pasted_urls_and_bare_mids_go_to_the_model(client, demo_model, template):
    mid = demo_model.mids[7]
    response = client.get("/search", query_string={"q": template.format(mid=mid)})
    assert response.status_code == 302
    assert response.location == f"/models/{mid}"
    assert client.get(response.location).status_code == 200


def test_a_pasted_url_of_an_unknown_model_ends_on_the_404_page(client):
    response = client.get(
        "/search", query_string={"q": "https://sketchfab.com/models/0123abc"}, follow_redirects=True
    )
    assert response.status_code == 404


def test_hostile_names_are_escaped_everywhere(hostile_client):
    for url in ["/", "/models/aaa111", "/models/bbb222", "/search?q=script", "/random?k=3"]:
        html = hostile_client.get(url).get_data(as_text=True)
        assert "<script>alert(1)</script>" not in html
    html = hostile_client.get("/models/aaa111").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'alt="&lt;script&gt;alert(1)&lt;/script&gt;"' in html


def test_search_query_is_escaped(client):
    html = client.get("/search", query_string={"q": "<b>x</b>\"'"}).get_data(as_text=True)
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html


@pytest.mark.parametrize(
    "url",
    [
        "/models/%00",
        "/models/..%2F..%2Fetc",
        "/models/" + "x" * 5000,
        "/search?q=%00%ff",
        "/search?q=" + "%F0%9F%A6%8A" * 500,
        "/search?q=a&page=-5",
        "/search?q=a&page=99999999999",
        "/?page=%00",
        "/random?k=%FF",
        "/api/models/%20/similar?k=",
        "/thumbnails/%00",
        "/thumbnails/" + "y" * 3000,
        "/api/models//similar",
        "/search?q=https://sketchfab.com/models/%00",
        "/search?q=https://sketchfab.com/3d-models/-",
        "/static/../webapp/__init__.py",
    ],
)
def test_nothing_a_user_types_gives_a_500(client, url):
    assert client.get(url).status_code < 500


def test_a_nameless_model_is_called_untitled_in_its_alt_text(make_app, tmp_path):
    factors = np.array([[1, 0], [0.9, 0.1]], dtype=np.float32)
    likes = np.array([[1, 1], [1, 1]], dtype=np.float32)
    path = write_artifact(
        str(tmp_path / "model.npz"), factors, ["aaa111", "bbb222"], ["", "Cube"], likes
    )
    client = make_app(path).test_client()
    # Its own page (the hero image), and its card on its neighbour's page.
    for mid in ("aaa111", "bbb222"):
        html = client.get(f"/models/{mid}").get_data(as_text=True)
        assert 'alt="Untitled"' in html and 'alt="Cube"' in html and 'alt=""' not in html


def test_every_card_and_the_model_page_have_a_named_heart(client, demo_model):
    html = client.get("/").get_data(as_text=True)
    hearts = re.findall(r'<button type="button" class="heart"[^>]*>', html)
    assert len(hearts) == PAGE_SIZE
    assert all('aria-pressed="false"' in h and " hidden" in h for h in hearts)
    assert re.search(
        r'data-heart="[0-9a-f]+" data-name="[^"]+" aria-pressed="false" '
        r'aria-label="Like [^"]+"',
        hearts[0],
    )
    page = client.get(f"/models/{demo_model.mids[0]}").get_data(as_text=True)
    assert f'class="heart button" data-heart="{demo_model.mids[0]}"' in page


def test_for_you_page_is_the_shell_its_script_fills(client):
    html = client.get("/for-you").get_data(as_text=True)
    assert "<h1>For you</h1>" in html
    assert 'data-api-url="/api/recommendations"' in html
    assert 'data-model-url="/models/MID"' in html and 'data-thumbnail-url="/thumbnails/MID"' in html
    assert "<noscript>" in html and "needs JavaScript" in html
    assert 'href="/random"' in html
    assert '<script src="/static/hearts.js" defer>' in html
    assert '<script src="/static/for_you.js" defer>' in html
    assert '<a href="/for-you">For you<span data-heart-count></span></a>' in html


@pytest.mark.parametrize("url", ["/", "/for-you", "/random", "/search?q=a"])
def test_pages_have_no_inline_script_style_or_handlers(client, url):
    """A Content-Security-Policy without 'unsafe-inline' must not break anything."""
    html = client.get(url).get_data(as_text=True)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert not re.search(r"\sstyle=|\son[a-z]+=", html)
