"""The lists visitors are served, each with its ticket (:mod:`webapp.events.tickets`).

During a trial a visitor (``?visitor=``) gets the team-draft interleaving of
the active and the candidate model's similar lists, the same one each time
for one query; every other list is the active model's alone. Cards keep the
figures (score, likes, co-likes) of the model that placed them.
"""

from ..events import tickets
from .candidate import current_candidate
from .interleave import seeded_rng, team_draft


def similar_list(catalog, row, k, visitor):
    """``(cards, ticket)``: ``row``'s ``k`` similar models for ``visitor`` (None: anonymous)."""
    mid = str(catalog.mids[row])
    candidate = current_candidate() if visitor is not None else None
    their_row = candidate.row(mid) if candidate is not None else None
    mine = catalog.similar(row, k)
    if their_row is None:
        return mine, tickets.sign(tickets.Ticket("similar", mid, len(mine), (catalog.sha256,)))
    theirs = candidate.similar(their_row, k)
    mids, teams = team_draft(
        [card["mid"] for card in mine],
        [card["mid"] for card in theirs],
        k,
        seeded_rng(visitor, mid),
    )
    cards = {"a": {c["mid"]: c for c in mine}, "c": {c["mid"]: c for c in theirs}}
    models = (catalog.sha256, candidate.sha256)
    ticket = tickets.Ticket("similar", mid, len(mids), models, teams, visitor)
    return [cards[t][m] for m, t in zip(mids, teams, strict=True)], tickets.sign(ticket)


def recommendations_ticket(catalog, count):
    """The ticket of a list of ``count`` recommendations from ``catalog`` (never interleaved)."""
    return tickets.sign(tickets.Ticket("recommendations", None, count, (catalog.sha256,)))
