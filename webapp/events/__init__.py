"""Visitors' events: what anonymous visitors who agreed see, open and heart, for learning.

- ``routes``: ``POST /api/events`` and the ``/privacy`` page.
- ``event_body``: one posted event, checked; ``tickets``: the signed ticket of a served list.
- ``rate_limit``: events per visitor and second; ``writer``: the batched background writer;
  ``store``: the SQLite file (:mod:`training.core.events_file`), healing itself.
- ``click_through``: impressions, clicks and CTR per model and list position.

Nothing is sent before the visitor agrees (``static/consent.js``); no IP
address, user agent or cookie is stored with an event.
"""

from flask import Blueprint, current_app

from .rate_limit import VisitorRate
from .writer import EventWriter

bp = Blueprint("events", __name__)
EXTENSION = "sketchrec.events"


def init_app(app):
    """Attach the events writer (``EVENTS_DB``, ``EVENTS_DAYS``) and register the routes."""
    app.extensions[EXTENSION] = (
        EventWriter(app.config["EVENTS_DB"], app.config["EVENTS_DAYS"]),
        VisitorRate(),
    )
    app.register_blueprint(bp)


def current_writer():
    """The :class:`EventWriter` of the current app."""
    return current_app.extensions[EXTENSION][0]


def current_rate():
    """The :class:`VisitorRate` of the current app."""
    return current_app.extensions[EXTENSION][1]


from . import routes  # noqa: E402,F401  (registers the routes on bp)
