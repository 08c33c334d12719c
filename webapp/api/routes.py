"""The JSON API: similar models and a health check (shapes as in CONTRACT.md)."""

from flask import abort

from ..request_args import neighbour_count
from ..serving import current_catalog
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


@bp.get("/healthz")
def healthz():
    """``{"status": "ok", "model": {"models", "factors", "created_at", "sha256"}}``.

    503 without a model.
    """
    catalog = current_catalog()
    return {
        "status": "ok",
        "model": {
            "models": len(catalog),
            "factors": catalog.factors,
            "created_at": catalog.meta.get("created_at"),
            "sha256": catalog.sha256,
        },
    }
