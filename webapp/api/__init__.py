"""The JSON API: similar models and a health check (shapes in docs/web-and-api.md)."""

from flask import Blueprint

bp = Blueprint("api", __name__)

from . import routes  # noqa: E402,F401  (registers the routes on bp)


def init_app(app):
    """Register the API."""
    app.register_blueprint(bp)
