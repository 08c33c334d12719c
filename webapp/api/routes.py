"""The JSON API: similar models and a health check (shapes as in CONTRACT.md)."""

from flask import abort

from ..request_args import neighbour_count
from ..serving import current_catalog, model_problem
from . import bp


@bp.get("/api/models/<mid>/similar")
def similar(mid):
    """``{"mid", "name", "likes", "similar": [{"mid", "name", "score", "likes", "co_likes"}]}``."""
    k = neighbour_count()
    catalog = current_catalog()
    row = catalog.row(mid)
    if row is None:
        abort(404, f"Unknown model {mid!r}.")
    return {**catalog.card(row), "similar": catalog.similar(row, k)}


@bp.get("/healthz")
def healthz():
    """``{"status": "ok", "model": {"models", "factors", "created_at", "sha256"}}``.

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
        },
    }
    if problem:
        body["reason"] = f"{problem}; serving the last good model"
    return body
