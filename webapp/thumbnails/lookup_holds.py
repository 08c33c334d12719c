"""Deadlines that hold back Sketchfab look-ups, shared by all worker processes.

A small table ``lookup_holds(key, until)`` in the thumbnail cache's SQLite file
(WAL, next to requests-cache's own tables). Keys used by the client:
``api`` (no calls before ``until``: a 429 or an unreachable API) and
``missing:<mid>`` (Sketchfab said 404; do not ask again before ``until``).
Times are Unix seconds, so every process agrees on them.
"""

import sqlite3
import threading
import time


class LookupHolds:
    """Read and set hold deadlines in the SQLite file at ``path``."""

    def __init__(self, path):
        self._lock = threading.Lock()
        # One connection per process, shared by its threads under the lock.
        self._db = sqlite3.connect(path, timeout=5, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS lookup_holds (key TEXT PRIMARY KEY, until REAL NOT NULL)"
        )

    def held(self, key):
        """Seconds left on the hold of ``key`` (0.0 when there is none or it has passed)."""
        with self._lock:
            found = self._db.execute(
                "SELECT until FROM lookup_holds WHERE key = ?", (key,)
            ).fetchone()
        return max(0.0, found[0] - time.time()) if found else 0.0

    def hold(self, key, seconds):
        """Hold ``key`` for ``seconds`` from now (replacing any earlier hold)."""
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO lookup_holds (key, until) VALUES (?, ?)",
                (key, time.time() + seconds),
            )
