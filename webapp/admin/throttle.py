"""Login throttling by client address, shared by every worker through one SQLite file.

Each login attempt that carries credentials is counted *before* its password
is checked, in one ``BEGIN IMMEDIATE`` transaction, so concurrent guesses
cannot slip past the limit: an address gets at most ``limit`` password
checks (scrypt, ~66 ms of CPU each) per ``window`` seconds, however many
workers and threads it keeps busy. A successful login clears its count. A file
that is not a usable database is moved aside and rebuilt, as the thumbnail cache is.
"""

import logging
import os
import sqlite3
import time

from ..sqlite_files import is_damaged, move_aside

log = logging.getLogger(__name__)

SCHEMA = """CREATE TABLE IF NOT EXISTS failures (
    address TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    window_start REAL NOT NULL,
    refused INTEGER NOT NULL DEFAULT 0
)"""


class LoginThrottle:
    """At most ``limit`` unsuccessful logins per address per ``window`` seconds.

    ``path`` is the SQLite file (created on first use).
    """

    def __init__(self, path, limit, window):
        self.path = path
        self.limit = limit
        self.window = window

    def _connect(self):
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            # WAL: readers never wait for a writer; NORMAL: no fsync per write (a lost
            # count after a power cut only forgets some failures).
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute(SCHEMA)
        except sqlite3.DatabaseError:
            connection.close()
            raise
        return connection

    def attempt(self, address, now=None):
        """Count one login attempt from ``address``.

        Returns None when the attempt may check its password, else the seconds
        until the address may try again. The first refusal is logged, once per
        address and window.
        """
        now = time.time() if now is None else now
        start, refused = self._healing(lambda db: self._count(db, address, now))
        if not refused:
            return None
        wait = max(1.0, start + self.window - now)
        if refused == 1:
            log.warning(
                "admin login: %d failed attempts from %s; refusing it for %d s",
                self.limit,
                address,
                round(wait),
            )
        return wait

    def _count(self, connection, address, now):
        """Count the attempt in one transaction; ``(window start, refusals with this one)``."""
        count, start, refused = self._row(connection, address, now)
        if count >= self.limit and refused:
            return start, refused + 1  # refused and logged already: no write
        connection.execute("BEGIN IMMEDIATE")
        # Windows that ended are forgotten, so the table holds recent addresses only.
        connection.execute("DELETE FROM failures WHERE window_start <= ?", (now - self.window,))
        count, start, refused = self._row(connection, address, now)
        if count < self.limit:
            count += 1
        else:
            refused += 1
        connection.execute(
            "INSERT OR REPLACE INTO failures VALUES (?, ?, ?, ?)", (address, count, start, refused)
        )
        connection.execute("COMMIT")
        return start, refused

    def _row(self, connection, address, now):
        """``(count, window_start, refused)`` of the address's current window."""
        row = connection.execute(
            "SELECT count, window_start, refused FROM failures WHERE address = ?", (address,)
        ).fetchone()
        return row if row and now - row[1] < self.window else (0, now, 0)

    def succeeded(self, address):
        """Forget the address's attempts after a correct password."""
        self._healing(lambda db: db.execute("DELETE FROM failures WHERE address = ?", (address,)))

    def _healing(self, work):
        """``work(connection)``; a file that is not a usable database is moved aside (kept for
        a look), rebuilt empty, and ``work`` runs once more. Its counts are lost: at worst an
        address gets ``limit`` more tries."""
        try:
            return self._with_connection(work)
        except sqlite3.DatabaseError as e:
            if not is_damaged(e):
                raise
            move_aside(self.path, e, "admin login throttle", log, then="rebuilt")
            return self._with_connection(work)

    def _with_connection(self, work):
        connection = self._connect()
        try:
            return work(connection)
        finally:
            connection.close()
