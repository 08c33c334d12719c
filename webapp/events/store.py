"""Writing the events file (:mod:`training.core.events_file`), healing it when it is damaged.

Used by one thread per worker process (the batch writer); the workers share
the file through SQLite's WAL. A file that is not SQLite, or is damaged, is
moved aside to ``<file>.broken-<time>`` and rebuilt empty with one warning,
when it is opened or when a write finds it damaged; a file replaced under a
worker (another worker moved it aside) is opened again before the next write.
Any other failure (disk full, unwritable) is raised to the writer, which
drops that batch: events degrade, nothing else does.
"""

import logging
import os
import sqlite3

from training.core.events_file import BUSY_TIMEOUT, COLUMNS, SCHEMA

from ..sqlite_files import file_id, is_damaged, move_aside

log = logging.getLogger(__name__)

INSERT = f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"


class EventFile:
    """The events file at ``path``, opened on first use, by one thread at a time."""

    def __init__(self, path):
        self.path = os.path.abspath(path)
        self._db = None
        self._file_id = None

    def append(self, rows):
        """Insert ``rows`` (tuples in :data:`COLUMNS` order) in one transaction."""
        self._run(lambda db: db.executemany(INSERT, rows))

    def prune(self, before):
        """Delete the events older than ``before`` (Unix seconds); how many went."""
        return self._run(lambda db: db.execute("DELETE FROM events WHERE at < ?", (before,)))

    def _run(self, statement):
        """``statement(db)`` in a transaction; a damaged file is rebuilt and tried once more."""
        if self._db is None or file_id(self.path) != self._file_id:
            self._open()
        try:
            with self._db:
                return statement(self._db).rowcount
        except sqlite3.DatabaseError as e:
            if not is_damaged(e):
                raise
            self._rebuild(e)
        with self._db:
            return statement(self._db).rowcount

    def _open(self):
        self.close()
        try:
            self._connect()
        except sqlite3.DatabaseError as e:
            if not is_damaged(e):
                raise
            self._rebuild(e)

    def _rebuild(self, error):
        self.close()
        move_aside(self.path, error, "events file", log)
        self._connect()

    def _connect(self):
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            # No fsync per batch: a power cut may lose the last events, never the file.
            db.execute("PRAGMA synchronous=NORMAL")
            for statement in SCHEMA:
                db.execute(statement)
        except sqlite3.DatabaseError:
            db.close()
            raise
        self._db, self._file_id = db, file_id(self.path)

    def close(self):
        """Close the connection (opened again by the next write)."""
        if self._db is not None:
            self._db.close()
            self._db = None
