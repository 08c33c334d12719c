"""Team-draft interleaving (Radlinski, Kurup & Joachims, "How does clickthrough data
reflect retrieval quality?", CIKM 2008).

Two teams pick in turns, like captains: the team with fewer picks goes next
(a coin decides a tie) and adds its best item not yet in the list. Each item
remembers its team; a click credits the team that placed the item, so the
model whose picks get more clicks is preferred, with no position bias
between the teams on average.
"""

import hashlib
import random


def team_draft(first, second, k, rng):
    """Interleave two ranked lists of distinct items into up to ``k`` items.

    ``first`` and ``second`` are sequences best first; ``rng`` a
    ``random.Random``. Returns ``(items, teams)``: a list of distinct items
    and a string with ``a`` (from ``first``) or ``c`` (from ``second``) per
    item. When one list runs out, the other keeps picking.
    """
    unread = {"a": iter(first), "c": iter(second)}
    picks = {"a": 0, "c": 0}
    items, teams, placed = [], [], set()

    def best_left(team):
        """The team's best item not placed yet (placed items are skipped for good), or None."""
        return next((item for item in unread[team] if item not in placed), None)

    while len(items) < k:
        if picks["a"] != picks["c"]:
            team = "a" if picks["a"] < picks["c"] else "c"
        else:
            team = "a" if rng.random() < 0.5 else "c"
        item = best_left(team)
        if item is None:  # this team's list ran out: the other one picks
            team = "c" if team == "a" else "a"
            item = best_left(team)
            if item is None:
                break
        items.append(item)
        teams.append(team)
        placed.add(item)
        picks[team] += 1
    return items, "".join(teams)


def seeded_rng(visitor, query):
    """A ``random.Random`` seeded by the visitor and the query model: one visitor sees the
    same interleaving of one query each time."""
    digest = hashlib.sha256(f"{visitor}\0{query}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))
