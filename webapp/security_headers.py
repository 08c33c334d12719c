"""Security headers on every response, and the session cookie's flags.

The Content-Security-Policy allows scripts and styles from this site only (no
inline script or style anywhere), images from this site and the Sketchfab
image origins (``SKETCHREC_SKETCHFAB_IMAGE_ORIGINS``, the same list the
thumbnail client accepts image URLs from), and no framing: a hostile page
cannot frame ``/admin`` and have a visitor click its buttons.
"""

from flask import request

from .thumbnails.image_urls import parse_origins

ADMIN_PREFIX = "/admin"


def content_security_policy(image_origins):
    """The policy's header value, images allowed from ``'self'`` and ``image_origins``."""
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src " + " ".join(["'self'", *image_origins]),
            "connect-src 'self'",  # the admin job page polls its JSON
            "form-action 'self'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ]
    )


def response_headers(config):
    """``{name: value}`` every response carries, for the app's ``config``; the nginx in front
    (:mod:`webapp.front`) adds the same to the answers it makes itself."""
    return {
        "Content-Security-Policy": content_security_policy(
            parse_origins(config["SKETCHFAB_IMAGE_ORIGINS"])
        ),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
        "Referrer-Policy": "same-origin",  # page paths (what a visitor looks at) stay here
    }


def init_app(app):
    """Add the headers to every response; SameSite=Lax (and Secure when configured) cookies."""
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_SECURE"] = app.config["SECURE_COOKIES"]
    headers = response_headers(app.config)

    @app.after_request
    def add_headers(response):
        response.headers.update(headers)
        if request.path == ADMIN_PREFIX or request.path.startswith(ADMIN_PREFIX + "/"):
            response.headers["Cache-Control"] = "no-store"
        return response
