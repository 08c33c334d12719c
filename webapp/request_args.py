"""Query-string arguments checked once, the same way for pages and the API."""

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
    allowed = f"{low}..{high}" if high is not None else f"{low} or more"
    if not (text.isascii() and text.isdigit()) or len(text) > 9:
        raise BadRequest(f"{name} must be a whole number, {allowed}.")
    value = int(text)
    if value < low or (high is not None and value > high):
        raise BadRequest(f"{name} must be {allowed}.")
    return value
