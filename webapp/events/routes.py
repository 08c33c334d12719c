"""``POST /api/events`` (204, or one line saying what is wrong) and the privacy page."""

import time

from flask import render_template, request
from werkzeug.exceptions import (
    BadRequest,
    RequestEntityTooLarge,
    ServiceUnavailable,
    TooManyRequests,
)

from ..admin.auth import csrf
from ..request_args import json_body
from . import bp, current_rate, current_writer, tickets
from .event_body import LISTED, parse_event

MAX_BODY = 4096  # bytes


# No CSRF token: anonymous visitors have no session, and an event only adds a row.
@csrf.exempt
@bp.post("/api/events")
def record():
    """Queue one event (see :mod:`.event_body`): 204; 400 bad event, 413 over 4 KB, 429 over
    the visitor's rate, 503 while the writer's queue is full."""
    if (request.content_length or 0) > MAX_BODY:
        raise RequestEntityTooLarge(f"An event body may have at most {MAX_BODY} bytes.")
    request.max_content_length = MAX_BODY  # a body without a length is cut there too
    event = parse_event(json_body())
    if not current_rate().allow(event.visitor):  # before the ticket's signature is checked
        raise TooManyRequests("Too many events from this visitor; slow down.", retry_after=1)
    if not current_writer().put(event_row(event)):
        raise ServiceUnavailable("Events are not being recorded right now.")
    return "", 204


def event_row(event):
    """The events file's row (``training.core.events_file.COLUMNS``) of a checked event."""
    if event.type not in LISTED:
        return (time.time(), event.visitor, event.type, event.mid, *[None] * 7)
    ticket = tickets.read(event.ticket)
    if event.position >= ticket.length:
        raise BadRequest(f'"position" {event.position} is past the list\'s {ticket.length} cards.')
    if ticket.visitor is not None and ticket.visitor != event.visitor:
        raise BadRequest('"ticket" belongs to a list made for another visitor.')
    model, team = ticket.placed_by(event.position)
    trial = ticket.models if ticket.teams else (None, None)
    return (
        time.time(),
        event.visitor,
        event.type,
        event.mid,
        ticket.kind,
        ticket.query,
        event.position,
        model,
        team,
        *trial,
    )


@bp.get("/privacy")
def privacy():
    """What is collected from visitors who agree, and why."""
    return render_template("privacy.html")
