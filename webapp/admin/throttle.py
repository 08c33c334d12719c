"""Login throttling by client address, shared by every worker through one SQLite file.

Each login attempt that carries credentials is counted *before* its password
is checked, in one ``BEGIN IMMEDIATE`` transaction, so concurrent guesses
cannot slip past the limit: an address gets at most ``limit`` password
checks (scrypt, ~66 ms of CPU each) per ``window`` seconds, however many
workers and threads it keeps busy. A successful login clears its count.
"""

import logging
import os
import sqlite3
import time

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
        # WAL: readers never wait for a writer; NORMAL: no fsync per write (a lost
        # count after a power cut only forgets some failures).
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute(SCHEMA)
        return connection

    def attempt(self, address, now=None):
        """Count one login attempt from ``address``.

        Returns None when the attempt may check its password, else the seconds
        until the address may try again. The first refusal is logged, once per
        address and window.
        """
        now = time.time() if now is None else now
        connection = self._connect()
        try:
            known = self._row(connection, address, now)
            if known[0] >= self.limit and known[2]:
                return max(1.0, known[1] + self.window - now)  # refused and logged: no write
            connection.execute("BEGIN IMMEDIATE")
            # Windows that ended are forgotten, so the table holds recent addresses only.
            connection.execute("DELETE FROM failures WHERE window_start <= ?", (now - self.window,))
            count, start, refused = self._row(connection, address, now)
            if count < self.limit:
                count += 1
            else:
                refused += 1
            connection.execute(
                "INSERT OR REPLACE INTO failures VALUES (?, ?, ?, ?)",
                (address, count, start, refused),
            )
            connection.execute("COMMIT")
        finally:
            connection.close()
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

    def _row(self, connection, address, now):
        """``(count, window_start, refused)`` of the address's current window."""
        row = connection.execute(
            "SELECT count, window_start, refused FROM failures WHERE address = ?", (address,)
        ).fetchone()
        return row if row and now - row[1] < self.window else (0, now, 0)

    def succeeded(self, address):
        """Forget the address's attempts after a correct password."""
        connection = self._connect()
        try:
            connection.execute("DELETE FROM failures WHERE address = ?", (address,))
        finally:
            connection.close()
