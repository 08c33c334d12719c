"""Click-through per served model and list position, from the events file."""

import time

from training.core.events_file import read_rows

WINDOW_DAYS = 7

PER_MODEL_AND_POSITION = """
SELECT model, position, SUM(type = 'impression'), SUM(type = 'click')
FROM events WHERE at >= ? AND type IN ('impression', 'click')
GROUP BY model, position ORDER BY model, position
"""


def click_through(events_path, days=WINDOW_DAYS, now=None):
    """``[{"model", "position", "impressions", "clicks", "ctr"}]`` of the last ``days`` days,
    by model sha256 then 0-based position; ``ctr`` is clicks / impressions (None without
    impressions). :class:`training.core.errors.BadInput` when the file cannot be read."""
    since = (time.time() if now is None else now) - days * 24 * 3600
    return [
        {
            "model": model,
            "position": position,
            "impressions": int(shown),
            "clicks": int(clicked),
            "ctr": clicked / shown if shown else None,
        }
        for model, position, shown, clicked in read_rows(
            events_path, PER_MODEL_AND_POSITION, (since,)
        )
    ]
