"""One visitor event as posted to ``POST /api/events``, checked field by field.

``{"visitor": "<16-64 of A-Za-z0-9_->", "type": "impression"|"click"|"heart"|"unheart",
"mid": "...", "ticket": "<a list's ticket>", "position": 0-based int}``: impressions
and clicks name a card of a served list (``ticket`` and ``position``; ``mid`` is
optional for impressions), hearts and unhearts a model (``mid``).
"""

import re
from typing import NamedTuple

from flask import request
from werkzeug.exceptions import BadRequest

from training.core.likes import mid_problem

VISITOR = re.compile(r"[A-Za-z0-9_-]{16,64}")
LISTED = ("impression", "click")  # events on a card of a served list
TYPES = (*LISTED, "heart", "unheart")
FIELDS = ("visitor", "type", "mid", "ticket", "position")
MAX_MID = 100  # characters; Sketchfab's mids have 32
MAX_POSITION = 1000


class Event(NamedTuple):
    """A checked event; ``ticket`` and ``position`` are None for hearts and unhearts."""

    visitor: str
    type: str
    mid: str | None
    ticket: str | None
    position: int | None


def parse_event(body):
    """The :class:`Event` of a decoded JSON body; :class:`BadRequest` saying what is wrong."""
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object with visitor, type and mid or ticket.")
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise BadRequest(f"Unknown field {unknown[0]!r}; the fields are {', '.join(FIELDS)}.")
    kind = body.get("type")
    if kind not in TYPES:
        raise BadRequest(f'"type" must be one of {", ".join(TYPES)}.')
    visitor = checked_visitor(body.get("visitor"), '"visitor"')
    mid = body.get("mid")
    if kind != "impression" or mid is not None:
        mid = _checked_mid(mid)
    if kind not in LISTED:
        for name in ("ticket", "position"):
            if name in body:
                raise BadRequest(f'"{name}" belongs to impressions and clicks, not to a {kind}.')
        return Event(visitor, kind, mid, None, None)
    ticket, position = body.get("ticket"), body.get("position")
    if not isinstance(ticket, str) or not ticket:
        raise BadRequest(f'A {kind} needs the "ticket" of the list it happened on.')
    if isinstance(position, bool) or not isinstance(position, int):
        raise BadRequest(f'A {kind} needs "position", the card\'s 0-based place in the list.')
    if not 0 <= position < MAX_POSITION:
        raise BadRequest(f'"position" must be 0..{MAX_POSITION - 1}.')
    return Event(visitor, kind, mid, ticket, position)


def checked_visitor(value, where):
    """``value`` when it is a visitor id (16-64 of A-Za-z0-9_-); :class:`BadRequest` otherwise."""
    if not isinstance(value, str) or not VISITOR.fullmatch(value):
        raise BadRequest(f"{where} must be 16 to 64 letters, digits, '-' or '_'.")
    return value


def visitor_arg():
    """``?visitor=``: the visitor a list is served to, or None; 400 when malformed."""
    value = request.args.get("visitor")
    return None if value is None else checked_visitor(value, "visitor")


def _checked_mid(mid):
    if not isinstance(mid, str) or not 0 < len(mid) <= MAX_MID or not mid.isprintable():
        raise BadRequest(f'"mid" must be a model id of 1 to {MAX_MID} printable characters.')
    if problem := mid_problem(mid):
        raise BadRequest(f'"mid": {problem}.')
    return mid
