"""Security headers on every response; admin pages uncached; the session cookie's flags."""

import base64

import pytest
from werkzeug.security import generate_password_hash

from webapp import create_app

PASSWORD = "pw"
PASSWORD_HASH = generate_password_hash(PASSWORD)  # once: scrypt takes a while
ROUTES = [
    "/",
    "/?page=2",
    "/random",
    "/search",
    "/search?q=knight",
    "/thumbnails/{mid}",
    "/thumbnails/not-a-model",
    "/api/models/{mid}/similar",
    "/api/models/nope/similar",
    "/healthz",
    "/static/style.css",
    "/static/thumbnails.js",
    "/no-such-page",
    "/admin",
]


@pytest.fixture
def admin_app(make_app, demo_model, tmp_path):
    return make_app(
        demo_model.path,
        ADMIN_PASSWORD_HASH=PASSWORD_HASH,
        DATA_DIR=str(tmp_path / "data"),
        JOBS_DIR=str(tmp_path / "jobs"),
        SECRET_KEY="test",
    )


def auth_header():
    return {"Authorization": "Basic " + base64.b64encode(f"admin:{PASSWORD}".encode()).decode()}


def directives(response):
    policy = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split("; ")}


def test_every_response_carries_the_headers(admin_app, demo_model, sketchfab):
    client = admin_app.test_client()
    for route in ROUTES:
        with client.get(route.format(mid=demo_model.mids[0])) as response:
            csp = directives(response)
            assert csp["frame-ancestors"] == ["'none'"], route
            assert csp["script-src"] == ["'self'"] and csp["style-src"] == ["'self'"], route
            assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
            assert csp["img-src"] == ["'self'", sketchfab.origin], route
            assert response.headers["X-Content-Type-Options"] == "nosniff", route
            assert response.headers["Referrer-Policy"] == "same-origin", route
            assert response.headers["X-Frame-Options"] == "DENY", route


def test_a_server_error_carries_the_headers(admin_app):
    @admin_app.get("/boom")
    def boom():
        raise RuntimeError("a bug")

    admin_app.testing = False  # answer the 500 page instead of raising into the test
    response = admin_app.test_client().get("/boom")
    assert response.status_code == 500
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_image_origins_come_from_the_configuration(make_app, demo_model):
    app = make_app(
        demo_model.path,
        SKETCHFAB_IMAGE_ORIGINS="https://media.sketchfab.com https://images.example:8443",
    )
    csp = directives(app.test_client().get("/"))
    assert csp["img-src"] == [
        "'self'",
        "https://media.sketchfab.com",
        "https://images.example:8443",
    ]


def test_the_default_allows_sketchfab_media(tmp_path, demo_model):
    app = create_app({"MODEL_PATH": demo_model.path, "THUMBNAIL_CACHE": str(tmp_path / "c")})
    assert directives(app.test_client().get("/healthz"))["img-src"] == [
        "'self'",
        "https://media.sketchfab.com",
    ]


def test_admin_pages_are_never_stored(admin_app):
    client = admin_app.test_client()
    for route in ["/admin", "/admin/jobs/nope", "/admin/jobs/nope.json", "/admin/nothing"]:
        assert client.get(route).headers["Cache-Control"] == "no-store", route  # the 401 too
        response = client.get(route, headers=auth_header())
        assert response.headers["Cache-Control"] == "no-store", route


def test_public_pages_keep_their_caching(admin_app, demo_model):
    client = admin_app.test_client()
    assert "no-store" not in client.get(f"/thumbnails/{demo_model.mids[0]}").headers.get(
        "Cache-Control", ""
    )


def session_cookie(app):
    response = app.test_client().get("/admin", headers=auth_header())
    assert response.status_code == 200
    (cookie,) = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    return cookie


def test_the_session_cookie_is_same_site_lax(admin_app):
    cookie = session_cookie(admin_app)
    assert "SameSite=Lax" in cookie and "HttpOnly" in cookie and "Secure" not in cookie


def test_secure_cookies_from_the_environment(monkeypatch, tmp_path, demo_model):
    for name, value in {
        "MODEL_PATH": demo_model.path,
        "THUMBNAIL_CACHE": str(tmp_path / "cache.sqlite"),
        "OFFLINE": "true",
        "SECRET_KEY": "test",
        "ADMIN_PASSWORD_HASH": PASSWORD_HASH,
        "DATA_DIR": str(tmp_path / "data"),
        "JOBS_DIR": str(tmp_path / "jobs"),
        "SECURE_COOKIES": "true",
    }.items():
        monkeypatch.setenv(f"SKETCHREC_{name}", value)
    cookie = session_cookie(create_app())
    assert "Secure" in cookie and "SameSite=Lax" in cookie
