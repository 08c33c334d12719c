"""Simulated visitors for interleaved trials: held-out likes replayed through the real app.

The users of a likes file are split as the evaluation splits them
(:func:`training.split.split_likes`): ``split_count`` likes of each drawn user
are held out of the models' training. Each drawn user becomes a visitor who
opens models they liked (the training part) and, in the similar list the
app serves them, clicks the listed models among their held-out likes: a
model that lists more of what people will like wins more comparisons.
"""

import random
import secrets
from dataclasses import dataclass

from training.core.likes import read_likes, write_likes
from training.core.prepare import prepare
from training.split import split_likes

K = 10  # cards per similar list


@dataclass
class Visitor:
    """A held-out user: ``liked`` mids of the training part, ``held_out`` mids to click."""

    liked: list
    held_out: set


def population(likes_path, train_path, fraction=0.3, split_count=5, seed=0):
    """Split the likes at ``likes_path``: the training part is written to ``train_path``
    (a likes file for ``python -m training fit``); return the held-out users as
    :class:`Visitor` s, their ``liked`` models limited to those the fit keeps."""
    prepared = prepare(read_likes(str(likes_path)))
    split = split_likes(prepared.likes, split_count, fraction, seed)
    train = split.train.tocoo()
    write_likes(
        str(train_path),
        (
            (prepared.names[m], prepared.mids[m], prepared.uids[u])
            for u, m in zip(train.row.tolist(), train.col.tolist(), strict=True)
        ),
    )
    kept = set(prepare(read_likes(str(train_path))).mids.tolist())  # what a fit serves
    mids = prepared.mids
    visitors = (
        Visitor(
            [str(mids[m]) for m in split.train[u].indices if mids[m] in kept],
            {str(mids[m]) for m in split.test[u].indices},
        )
        for u in split.users.tolist()
    )
    return [visitor for visitor in visitors if visitor.liked]


def new_visitor_id():
    """A visitor id as the browser makes one (22 URL-safe characters)."""
    return secrets.token_urlsafe(16)


def visit(session, url, visitor_id, query, held_out, impressions=False):
    """Open ``query``'s similar list as ``visitor_id`` and click its cards in ``held_out``.

    Events go to ``POST /api/events`` (each must answer 204). Returns
    ``(ticket, clicked positions)``.
    """
    answer = session.get(
        f"{url}/api/models/{query}/similar", params={"k": K, "visitor": visitor_id}, timeout=30
    )
    answer.raise_for_status()
    body = answer.json()
    ticket, cards = body["ticket"], body["similar"]
    clicked = [position for position, card in enumerate(cards) if card["mid"] in held_out]
    shown = range(len(cards)) if impressions else ()
    for kind, positions in (("impression", shown), ("click", clicked)):
        for position in positions:
            event = {"visitor": visitor_id, "type": kind, "mid": cards[position]["mid"]}
            event |= {"ticket": ticket, "position": position}
            sent = session.post(f"{url}/api/events", json=event, timeout=30)
            assert sent.status_code == 204, sent.text
    return ticket, clicked


def replay(session, url, visitors, queries_per_visitor=1, seed=0, impressions=False):
    """Each visitor (a fresh id) opens ``queries_per_visitor`` models they liked, drawn with
    ``seed``; returns ``[(visitor id, ticket, clicked positions)]`` in order."""
    rng = random.Random(seed)
    visits = []
    for visitor in visitors:
        visitor_id = new_visitor_id()
        for query in rng.sample(visitor.liked, min(queries_per_visitor, len(visitor.liked))):
            ticket, clicked = visit(session, url, visitor_id, query, visitor.held_out, impressions)
            visits.append((visitor_id, ticket, clicked))
    return visits
