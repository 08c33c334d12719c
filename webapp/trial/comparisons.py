"""A trial's comparisons from the events file: wins, losses and ties, and what they support.

Each (visitor, query) with at least one credited click on its interleaved
list is one comparison: the candidate wins when more distinct models it
placed were clicked than the active model's, loses when fewer, ties when as
many. The sign test leaves ties out.
"""

from training.core.events_file import read_rows

from .sign_test import sign_test

ALPHA = 0.05  # the sign test's level for a decision

COUNTS = """
SELECT COALESCE(SUM(candidate > active), 0), COALESCE(SUM(active > candidate), 0),
       COALESCE(SUM(active = candidate), 0)
FROM (SELECT COUNT(DISTINCT CASE WHEN team = 'candidate' THEN mid END) AS candidate,
             COUNT(DISTINCT CASE WHEN team = 'active' THEN mid END) AS active
      FROM events WHERE type = 'click' AND active = ? AND candidate = ?
      GROUP BY visitor, query)
"""


def trial_report(events_path, active, candidate):
    """``{"active", "candidate", "comparisons", "wins": {"candidate", "active", "tie"},
    "p_value"}`` for the trial of ``candidate`` against ``active`` (sha256 both).

    No events file yet counts as no comparisons; :class:`BadInput` when the file
    cannot be read.
    """
    found = read_rows(events_path, COUNTS, (active, candidate))
    counts = map(int, found[0] if found else (0, 0, 0))
    wins = dict(zip(("candidate", "active", "tie"), counts, strict=True))
    return {
        "active": active,
        "candidate": candidate,
        "comparisons": sum(wins.values()),
        "wins": wins,
        "p_value": sign_test(wins["candidate"], wins["active"]),
    }


def decision(report, alpha=ALPHA):
    """``(verdict, advice)``: which model the report supports at ``alpha``, and what to do."""
    wins = report["wins"]
    if report["p_value"] >= alpha:
        return (
            "no difference yet",
            f"p = {report['p_value']:.3g} (not below {alpha:g}): keep the trial running "
            "for more comparisons, or end it.",
        )
    if wins["candidate"] > wins["active"]:
        return "the candidate is better", "Activate the candidate."
    return "the active model is better", "End the trial; keep the active model."
