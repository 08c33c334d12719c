"""The visitors' events file: the table the web app writes and ``export-events`` reads.

One SQLite file (WAL) written by every web worker (``webapp.events``). A row
is one event of an anonymous visitor: no IP address, user agent or cookie.
``at`` is Unix seconds; ``list``, ``query``, ``position``, ``model``, ``team``,
``active`` and ``candidate`` are set for impressions and clicks on a served
list (``model``: sha256 of the artifact that placed the card; ``team``,
``active``, ``candidate``: during an interleaved trial only).
"""

import os
import sqlite3

from .errors import BadInput

COLUMNS = (
    "at",
    "visitor",
    "type",
    "mid",
    "list",
    "query",
    "position",
    "model",
    "team",
    "active",
    "candidate",
)
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS events (at REAL NOT NULL, visitor TEXT NOT NULL,"
    " type TEXT NOT NULL, mid TEXT, list TEXT, query TEXT, position INTEGER, model TEXT,"
    " team TEXT, active TEXT, candidate TEXT)",
    "CREATE INDEX IF NOT EXISTS events_at ON events (at)",
    "CREATE INDEX IF NOT EXISTS events_trial ON events (active, candidate, type)",
)
BUSY_TIMEOUT = 5.0  # seconds a statement waits for another process's write


def open_read_only(path):
    """A read-only connection to the events file at ``path``.

    :class:`BadInput` (``path: reason``) when it is missing or not an events file.
    """
    if not os.path.isfile(path):
        raise BadInput(f"{path}: no events file")
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT)
        db.execute("SELECT at, visitor, type, mid FROM events LIMIT 1").fetchall()
    except sqlite3.DatabaseError as e:
        raise BadInput(f"{path}: not an events file ({e})") from None
    return db


def read_rows(path, sql, args=(), missing_ok=True):
    """The rows of the query ``sql`` on the events file at ``path``; none when there is no
    file yet and ``missing_ok``. :class:`BadInput` when the file cannot be read."""
    if missing_ok and not os.path.exists(path):
        return []
    db = open_read_only(path)
    try:
        return db.execute(sql, args).fetchall()
    except sqlite3.DatabaseError as e:
        raise BadInput(f"{path}: cannot read the events ({e})") from None
    finally:
        db.close()
