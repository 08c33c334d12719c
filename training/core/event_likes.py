"""Visitors' hearts as likes: the events file's hearts, net of unhearts, in the likes format.

A visitor's last heart or unheart of a model decides: a heart is a like
``("", mid, "visitor-<id>")`` (no name: when the hearts follow a likes file,
the model's name comes from that file's first row of it). ``prepare`` then
treats these likes like any other.
"""

import csv
import shutil

from .atomic import atomic_path
from .events_file import read_rows
from .likes import COUNT_HEADER, Dialect, write_likes

UID_PREFIX = "visitor-"

# SQLite gives a bare column the value of the row that MAX() picked: the last event.
LAST_HEART_OR_UNHEART = """
SELECT visitor, mid, type, MAX(rowid) FROM events WHERE type IN ('heart', 'unheart')
GROUP BY visitor, mid ORDER BY visitor, mid
"""


def heart_likes(events_path, missing_ok=True):
    """``[(name, mid, uid)]``: one like per (visitor, model) whose last event is a heart.

    :class:`training.core.errors.BadInput` when the file cannot be read (or is
    missing and not ``missing_ok``).
    """
    rows = read_rows(events_path, LAST_HEART_OR_UNHEART, missing_ok=missing_ok)
    return [("", mid, UID_PREFIX + visitor) for visitor, mid, kind, _ in rows if kind == "heart"]


def write_heart_likes(events_path, out_path):
    """Write the hearts of ``events_path`` as a likes file at ``out_path`` (atomically);
    the likes written. :class:`BadInput` when the events file is missing or unreadable."""
    likes = heart_likes(events_path, missing_ok=False)
    with atomic_path(out_path, suffix=".psv") as tmp:
        write_likes(tmp, likes)
    return likes


def append_likes(likes_path, extra, out_path):
    """Write the likes file ``likes_path`` followed by the likes ``extra`` to ``out_path``.

    ``extra`` rows are ``(name, mid, uid)``; they get a count of 1 when the file
    has the ``count`` column.
    """
    with open(likes_path, encoding="utf-8", newline="") as f:
        header = next(csv.reader(f, Dialect), [])
    with_count = [h.strip().lstrip("\ufeff") for h in header] == COUNT_HEADER
    with atomic_path(out_path, suffix=".psv") as tmp:
        shutil.copyfile(likes_path, tmp)
        with open(tmp, "r+", encoding="utf-8", newline="") as f:
            f.seek(0, 2)
            if f.tell() and _last_byte(likes_path) != b"\n":
                f.write("\n")
            csv.writer(f, Dialect).writerows(row + (1,) if with_count else row for row in extra)


def _last_byte(path):
    with open(path, "rb") as f:
        f.seek(-1, 2)
        return f.read(1)
