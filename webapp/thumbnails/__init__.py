"""Thumbnails: ``/thumbnails/<mid>`` redirects to the Sketchfab image, else a placeholder.

- ``routes``: the route; never a 5xx.
- ``sketchfab``: the Sketchfab Data API client with its cache.
- ``lookup_holds``: pauses of API calls shared by all worker processes.
- ``placeholder``: generated SVG placeholders.
"""

from flask import Blueprint

bp = Blueprint("thumbnails", __name__)

from . import routes, sketchfab  # noqa: E402,F401  (routes registers the route on bp)


def init_app(app):
    """Attach the Sketchfab client and register the route."""
    sketchfab.init_app(app)
    app.register_blueprint(bp)
