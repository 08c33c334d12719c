"""The JSON API: similar models, recommendations from hearts, a health check (CONTRACT.md)."""

from flask import abort, request
from werkzeug.exceptions import BadRequest

from ..admin.auth import csrf
from ..request_args import neighbour_count
from ..serving import current_catalog, model_problem
from . import bp


@bp.get("/api/models/<mid>/similar")
def similar(mid):
    """``{"mid", "name", "likes", "similarity_exponent",
    "similar": [{"mid", "name", "score", "likes", "co_likes"}]}``.

    ``score`` is ``y_i . y_j / (|y_i| |y_j| ** similarity_exponent)``: the
    cosine when the exponent is 1.
    """
    k = neighbour_count()
    catalog = current_catalog()
    row = catalog.row(mid)
    if row is None:
        abort(404, f"Unknown model {mid!r}.")
    return {
        **catalog.card(row),
        "similarity_exponent": catalog.exponent,
        "similar": catalog.similar(row, k),
    }


MAX_LIKES = 500  # the most hearts a browser keeps
MAX_BODY = 64 * 1024  # bytes; 500 mids of Sketchfab's 32 characters take about 18 KiB


# No CSRF token: the answer depends only on the body, and nothing is stored or changed.
@csrf.exempt
@bp.post("/api/recommendations")
def recommendations():
    """``{"likes": [mid, ...], "k": 10}`` -> ``{"recommendations": [...], "unknown": [...]}``.

    Each recommendation is ``{"mid", "name", "score", "likes", "because"}``
    (``because`` is the liked mid that contributes most). Mids the model does
    not know are listed in ``unknown`` and otherwise ignored. 400 for a body
    of another shape, more than :data:`MAX_LIKES` likes or k outside 1..100.
    """
    request.max_content_length = MAX_BODY
    likes, k = _recommendation_request(request.get_json(force=True, silent=True))
    catalog = current_catalog()
    rows = {mid: catalog.row(mid) for mid in likes}  # dict: distinct, in order
    known = [row for row in rows.values() if row is not None]
    return {
        "recommendations": catalog.recommend(known, k),
        "unknown": [mid for mid, row in rows.items() if row is None],
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


EXACT = {"search": "exact"}  # the neighbours below the approximate index's threshold


@bp.get("/healthz")
def healthz():
    """``{"status": "ok", "model": {"models", "factors", "created_at", "sha256", "neighbours"}}``.

    ``neighbours``: ``{"search": "exact"}`` below the approximate index's
    threshold; past it ``"search"`` (``"approximate"``, or ``"exact"`` when
    the index did not reach its target), ``"calibrated_recall"`` and
    ``"target_recall"``.

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
            "neighbours": catalog.neighbours.health() if catalog.neighbours else EXACT,
        },
    }
    if problem:
        body["reason"] = f"{problem}; serving the last good model"
    return body
