"""List tickets: what a served list was, signed, so events on its cards can be credited.

A ticket names the list (``similar`` with its query model, or
``recommendations``), its length, the model or models that made it (sha256
of the artifacts) and, for a trial's interleaved list, the visitor it was
made for and the team of each position (``a``: the active model, ``c``: the
candidate). It is signed with the app's secret key (itsdangerous), carries
its time and is refused after :data:`MAX_AGE`; nothing is stored when a list
is served.
"""

from typing import NamedTuple

from flask import current_app
from itsdangerous import BadData, URLSafeTimedSerializer
from werkzeug.exceptions import BadRequest

SALT = "sketchrec.list-ticket"
MAX_AGE = 24 * 3600  # seconds a list's ticket is accepted for
TEAMS = {"a": "active", "c": "candidate"}


class Ticket(NamedTuple):
    """A served list: ``kind`` (``similar``/``recommendations``), ``query`` (the similar
    list's mid, else None), ``length`` (cards), ``models`` (``(active,)`` or ``(active,
    candidate)`` sha256), ``teams`` (``a``/``c`` per position, interleaved lists only)
    and ``visitor`` (interleaved lists only)."""

    kind: str
    query: str | None
    length: int
    models: tuple
    teams: str | None = None
    visitor: str | None = None

    def placed_by(self, position):
        """``(model sha256, team)`` that put the card at ``position`` there; team None
        outside a trial."""
        if self.teams is None:
            return self.models[0], None
        team = TEAMS[self.teams[position]]
        return self.models[0 if team == "active" else 1], team


def _serializer(key):
    return URLSafeTimedSerializer(key or current_app.config["SECRET_KEY"], salt=SALT)


def sign(ticket):
    """The ticket as an opaque URL-safe string, signed with the app's secret key."""
    return _serializer(None).dumps(list(ticket))


def read(text, key=None):
    """The :class:`Ticket` in ``text`` signed with ``key`` (default: the app's secret key);
    :class:`BadRequest` when it is forged, old or odd."""
    try:
        fields = _serializer(key).loads(text, max_age=MAX_AGE)
        kind, query, length, models, teams, visitor = fields
        ticket = Ticket(kind, query, length, tuple(models), teams, visitor)
    except (BadData, TypeError, ValueError):
        raise BadRequest(
            '"ticket" is not a list ticket of this site, or is over a day old.'
        ) from None
    return ticket
