"""Query-string arguments checked once, the same way for pages and the API; JSON bodies."""

import json

from flask import request
from werkzeug.exceptions import BadRequest


def bounded_int(name, default, low, high=None):
    """``request.args[name]`` as an int in ``low..high`` (inclusive; no upper bound when None).

    Missing gives ``default``; anything else (``abc``, ``1.5``, ``-3``, out of
    range) raises a 400 that says what is allowed.
    """
    text = request.args.get(name)
    if text is None:
        return default
    if not (text.isascii() and text.isdigit()):
        raise BadRequest(f"{name} must be a whole number, {_allowed(low, high)}.")
    # Nine digits are plenty and keep int() away from huge inputs.
    value = int(text) if len(text) <= 9 else None
    if value is None or value < low or (high is not None and value > high):
        raise BadRequest(f"{name} must be {_allowed(low, high)}.")
    return value


def neighbour_count():
    """``?k=``: how many similar models to show, 1..100 (default 10), for pages and API."""
    return bounded_int("k", 10, 1, 100)


def _allowed(low, high):
    return f"{low}..{high}" if high is not None else f"{low} or more"


def json_body():
    """The request body parsed as JSON, or None when it is not JSON (any nesting, any bytes)."""
    try:
        return json.loads(request.get_data())
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
        return None
