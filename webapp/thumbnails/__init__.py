"""Thumbnails: ``/thumbnails/<mid>`` redirects to the Sketchfab image, else a placeholder.

- ``routes``: the route; never waits on the API, never a 5xx.
- ``sketchfab``: the Sketchfab Data API client: requests-cache first, look-ups in the background.
- ``resolver``: the few background threads that run look-ups.
- ``upstream``: the transport under requests-cache (overall deadline, size cap, no gzip).
- ``image_urls``: which image URL of a model JSON may become a redirect.
- ``thumbnail_cache``: requests-cache's answers and our API holds in one SQLite file, self-healing.
- ``placeholder``: generated SVG placeholders."""

from flask import Blueprint

bp = Blueprint("thumbnails", __name__)

from . import routes, sketchfab  # noqa: E402,F401  (routes registers the route on bp)


def init_app(app):
    """Attach the Sketchfab client and register the route."""
    sketchfab.init_app(app)
    app.register_blueprint(bp)
