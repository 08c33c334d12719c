"""Error responses: a friendly HTML page, or ``{"error": ...}`` JSON for the API."""

import json

from flask import render_template, request
from werkzeug.exceptions import HTTPException


def init_app(app):
    """Render every HTTP error (404, 400, 503, 500, ...) as a page or as API JSON."""
    app.register_error_handler(HTTPException, render_error)


def render_error(error):
    """Keep the status and headers (Allow, WWW-Authenticate, ...), replace the body."""
    response = error.get_response()
    if wants_json():
        response.set_data(json.dumps({"error": error.description}))
        response.mimetype = "application/json"
    else:
        response.set_data(render_template("error.html", error=error))
        response.mimetype = "text/html"
    return response


def by_role(error, roles, other="a file"):
    """``error`` in one line for an answer, each path of ``roles`` (``{path: role}``) named by
    its role ("the model file"); an OSError as its file's role and its reason, where a file
    not in ``roles`` is ``other`` (the log has the path)."""
    if isinstance(error, OSError) and error.strerror:
        return f"{roles.get(error.filename, other)}: {error.strerror}"
    text = str(error)
    for path, role in roles.items():
        text = text.replace(path, role)
    return text


def wants_json():
    """API routes (``/api/...``, ``/healthz``) answer errors in JSON."""
    return request.blueprint == "api" or request.path.startswith("/api/")
