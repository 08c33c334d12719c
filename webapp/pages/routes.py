"""HTML pages: the gallery, a model and its neighbours, the random explorer, search, for you."""

import math
import random

from flask import abort, redirect, render_template, request, url_for

from training.core import COSINE

from ..request_args import bounded_int, neighbour_count
from ..serving import current_catalog
from ..trial import current_candidate
from ..trial.served_lists import similar_list
from . import bp
from .sketchfab_urls import mid_from_url

PAGE_SIZE = 48  # cards per gallery page


@bp.get("/")
def index():
    """The gallery, most liked first, ``?page=`` 1..last."""
    catalog = current_catalog()
    cards, pager = paginate(catalog, catalog.popular)
    return render_template("index.html", cards=cards, pager=pager, total=len(catalog))


@bp.get("/models/<mid>")
def model(mid):
    """One model and its ``?k=`` (1..100) most similar models."""
    catalog = current_catalog()
    row = catalog.row(mid)
    if row is None:
        abort(404, "There is no model with this id in the current data.")
    return render_model(catalog, row)


@bp.get("/random")
def explore():
    """A random model and its neighbours, with a button for another one."""
    catalog = current_catalog()
    response = render_model(catalog, random.randrange(len(catalog)), explorer=True)
    return response, {"Cache-Control": "no-store"}


@bp.get("/for-you")
def for_you():
    """Recommendations for the models hearted in this browser, fetched by static/for_you.js."""
    current_catalog()  # 503 without a model, like every other page
    return render_template("for_you.html")


@bp.get("/search")
def search():
    """Names containing ``?q=``; a Sketchfab model URL or a known mid goes to that model."""
    catalog = current_catalog()
    q = request.args.get("q", "").strip()
    if not q:
        return render_template("search.html", q=q, cards=[], pager=None, matches=0)
    mid = mid_from_url(q) or (q if catalog.row(q) is not None else None)
    if mid:
        return redirect(url_for("pages.model", mid=mid))
    rows = catalog.search(q)
    cards, pager = paginate(catalog, rows)
    return render_template(
        "search.html", q=q, cards=cards, pager=pager, matches=len(rows), more=rows.capped
    )


def render_model(catalog, row, explorer=False):
    """The model page of ``row`` with ``?k=`` neighbours."""
    k = neighbour_count()
    similar, ticket = similar_list(catalog, row, k, visitor=None)
    return render_template(
        "model.html",
        model=catalog.card(row),
        similar=similar,
        ticket=ticket,
        trial=current_candidate() is not None,
        score_help=score_help(catalog.exponent),
        k=k,
        explorer=explorer,
    )


def score_help(exponent):
    """What a similar card's score is, for its tooltip; None for cosine (the template's default)."""
    if exponent == COSINE:
        return None
    return (
        "similarity score: the cosine of the two models' vectors times the length of this "
        f"model's vector to the power {1 - exponent:g}, which lifts often liked models; "
        "the list is ordered by it, highest first"
    )


def paginate(catalog, rows):
    """Cards of ``?page=`` of ``rows`` and a pager dict (``page``, ``pages``); 404 past the end."""
    pages = max(1, math.ceil(len(rows) / PAGE_SIZE))
    page = bounded_int("page", 1, 1)
    if page > pages:
        abort(404, f"There are only {pages} pages.")
    start = (page - 1) * PAGE_SIZE
    cards = [catalog.card(row) for row in rows[start : start + PAGE_SIZE]]
    return cards, {"page": page, "pages": pages}
