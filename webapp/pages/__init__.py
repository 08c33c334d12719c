"""The HTML pages: the gallery, a model and its neighbours, the random explorer, search."""

from flask import Blueprint

bp = Blueprint("pages", __name__)

from . import routes  # noqa: E402,F401  (registers the routes on bp)


def init_app(app):
    """Register the pages."""
    app.register_blueprint(bp)
