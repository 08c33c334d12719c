"""SQLite files shared by the workers: telling a damaged file, and moving it aside."""

import os
import time

DAMAGED = {"SQLITE_NOTADB", "SQLITE_CORRUPT"}  # sqlite3 error names of a file to rebuild


def is_damaged(error):
    """True when the ``sqlite3.DatabaseError`` says the file is not (or no longer) SQLite."""
    return getattr(error, "sqlite_errorname", "") in DAMAGED


def file_id(path):
    """``(device, inode)`` of the file at ``path``; None when there is none."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_dev, found.st_ino


def move_aside(path, error, what, logger, then="rebuilt empty"):
    """Rename the damaged ``path`` and its WAL files to ``<path>.broken-<unix time>...``
    (kept for a look), and say so in one warning on ``logger``: ``what`` the file is,
    ``error`` why it is set aside, ``then`` what the caller does next."""
    aside = f"{path}.broken-{int(time.time())}"
    for suffix in ("", "-wal", "-shm"):
        try:
            os.replace(path + suffix, aside + suffix)
        except FileNotFoundError:
            pass
    logger.warning(
        "%s %s is not a usable SQLite file (%s): moved to %s, %s", what, path, error, aside, then
    )
