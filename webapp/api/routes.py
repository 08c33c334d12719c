"""The JSON API: similar models, recommendations from hearts, health (docs/web-and-api.md)."""

import numpy as np
from flask import abort, current_app, request
from werkzeug.exceptions import BadRequest

from ..admin.auth import csrf
from ..events.event_body import visitor_arg
from ..request_args import json_body, neighbour_count
from ..serving import current_catalog, model_problem
from ..trial.served_lists import recommendations_ticket, similar_list
from . import bp


@bp.get("/api/models/<mid>/similar")
def similar(mid):
    """``{"mid", "name", "likes", "similarity_exponent",
    "similar": [{"mid", "name", "score", "likes", "co_likes"}], "ticket"}``.

    ``score`` is ``y_i . y_j / (|y_i| |y_j| ** similarity_exponent)``: the
    cosine when the exponent is 1. ``?visitor=ID`` (a consenting visitor's id)
    gets a trial's interleaved list; ``ticket`` goes with the list's events.
    """
    k, visitor = neighbour_count(), visitor_arg()
    catalog = current_catalog()
    row = catalog.row(mid)
    if row is None:
        abort(404, f"Unknown model {mid!r}.")
    cards, ticket = similar_list(catalog, row, k, visitor)
    return {
        **catalog.card(row),
        "similarity_exponent": catalog.exponent,
        "similar": cards,
        "ticket": ticket,
    }


MAX_LIKES = 500  # the most hearts a browser keeps
MAX_BODY = 64 * 1024  # bytes; 500 mids of Sketchfab's 32 characters take about 18 KiB


# No CSRF token: the answer depends only on the body, and nothing is stored or changed.
@csrf.exempt
@bp.post("/api/recommendations")
def recommendations():
    """``{"likes": [mid, ...], "k": 10}`` -> ``{"recommendations": [...], "unknown": [...],
    "ticket"}``.

    Each recommendation is ``{"mid", "name", "score", "likes", "because"}``
    (``because`` is the liked mid that contributes most). Mids the model does
    not know are listed in ``unknown`` and otherwise ignored. 400 for a body
    of another shape, more than :data:`MAX_LIKES` likes or k outside 1..100.
    """
    request.max_content_length = MAX_BODY
    likes, k = _recommendation_request(json_body())
    catalog = current_catalog()
    rows = {mid: catalog.row(mid) for mid in likes}  # dict: distinct, in order
    known = [row for row in rows.values() if row is not None]
    try:
        found = catalog.recommend(known, k)
    except np.linalg.LinAlgError:  # loading refuses factors that cannot solve; never a 500
        current_app.logger.exception("fold-in failed for %d liked models", len(known))
        abort(503, "Recommendations cannot be computed for these likes with this model.")
    return {
        "recommendations": found,
        "unknown": [mid for mid, row in rows.items() if row is None],
        "ticket": recommendations_ticket(catalog, len(found)),
    }


def _recommendation_request(body):
    """``(likes, k)`` of a recommendations body; :class:`BadRequest` saying what is wrong."""
    if not isinstance(body, dict):
        raise BadRequest('The body must be a JSON object such as {"likes": ["<mid>"], "k": 10}.')
    likes, k = body.get("likes"), body.get("k", 10)
    if not isinstance(likes, list) or not all(isinstance(mid, str) for mid in likes):
        raise BadRequest('"likes" must be a list of model ids (strings).')
    if len(likes) > MAX_LIKES:
        raise BadRequest(f'"likes" has {len(likes)} models; at most {MAX_LIKES} are allowed.')
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 100:
        raise BadRequest('"k" must be a whole number 1..100.')
    return likes, k


@bp.get("/healthz")
def healthz():
    """``{"status": "ok", "model": {"models", "factors", "created_at", "sha256", "neighbours"}}``.

    ``neighbours`` says how similar lists are found: ``{"search": "exact" or
    "approximate", "recall": recall@10 against the exact search as calibrated,
    ...}``.

    ``"status": "degraded"`` and a ``"reason"`` while the model file on disk
    is missing or broken and the last good model serves (still 200: the site
    answers). 503 without a model.
    """
    catalog = current_catalog()
    problem = model_problem()
    body = {
        "status": "degraded" if problem else "ok",
        "model": {
            "models": len(catalog),
            "factors": catalog.factors,
            "created_at": catalog.meta.get("created_at"),
            "sha256": catalog.sha256,
            "neighbours": catalog.neighbour_search(),
        },
    }
    if problem:
        body["reason"] = f"{problem}; serving the last good model"
    return body
