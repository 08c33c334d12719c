"""SQLite files the workers share (thumbnail cache, login throttle): telling a damaged file
and moving it aside, so it can be rebuilt empty and kept for a look."""

import os
import time

DAMAGED = {"SQLITE_NOTADB", "SQLITE_CORRUPT"}


def damaged(error):
    """True when the ``sqlite3.DatabaseError`` ``error`` says the file is not a usable database."""
    return getattr(error, "sqlite_errorname", "") in DAMAGED


def move_aside(path):
    """Rename ``path`` and its WAL files to ``<path>.broken-<unix time>...``; the new name."""
    aside = f"{path}.broken-{int(time.time())}"
    for suffix in ("", "-wal", "-shm"):
        try:
            os.replace(path + suffix, aside + suffix)
        except FileNotFoundError:
            pass
    return aside
