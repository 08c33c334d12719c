"""The thumbnail cache: one SQLite file (WAL) shared by every worker process, healing itself.

It holds the Sketchfab API's answers, stored by requests-cache (its
``responses`` and ``redirects`` tables: the caller's ``CachedSession`` gets
this file as its SQLite backend), and our ``holds(key, until, streak)``:
deadlines before which nothing is asked of the API, ``api`` for the whole API
(``streak``: failures in a row, for the exponential back-off) and
``missing:<mid>`` for a model without a usable image. Times are Unix seconds,
so processes agree.

A file that is not SQLite (or is damaged) is moved aside and rebuilt, with one
warning. A file that cannot be written is reported once, and the process keeps
both the holds and the answers in memory instead (requests-cache's ``memory``
backend). Both are checked when the file is opened, again whenever a statement
or a requests-cache call fails as a database, and before each write when the
file at ``path`` is no longer the one opened (another worker moved a damaged
file aside).
"""

import logging
import os
import sqlite3
import threading
import time

from requests_cache import BaseCache, SQLiteCache

from ..sqlite_files import file_id, is_damaged, move_aside

log = logging.getLogger(__name__)

MEMORY = ":memory:"
BUSY_TIMEOUT = 2.0  # seconds a statement waits for another process's write
HOLDS = (
    "CREATE TABLE IF NOT EXISTS holds"
    " (key TEXT PRIMARY KEY, until REAL NOT NULL, streak INTEGER NOT NULL DEFAULT 0)"
)
SERIALIZER = "json"  # not pickle: whoever can write the file must not run code in ours
NOT_CACHED = 504  # requests-cache's answer to a cache-only request it cannot serve


class ThumbnailCache:
    """API answers and holds in the SQLite file at ``path``, for requests-cache ``session``.

    ``session`` is a ``requests_cache.CachedSession`` whose expiry, filter and
    transport the caller chose; its backend is replaced by this file's (or by
    memory) and follows the file as it heals. A ``path`` without an extension
    gets ``.sqlite``, as requests-cache would add it, so both share one file.
    """

    def __init__(self, path, session):
        self.path = os.path.abspath(path if os.path.splitext(path)[1] else f"{path}.sqlite")
        self.session = session
        self._lock = threading.Lock()
        self._db = None
        self._open()

    @property
    def in_memory(self):
        """True once the process fell back to a cache in memory."""
        return self._db_path == MEMORY

    def answer(self, url):
        """requests-cache's stored answer to ``GET url``, or None; never asks the network.

        An answer past its ``expire_after`` is still given (``is_expired`` is
        then True) while within the session's ``stale_if_error``.
        """
        response = self._run(lambda: self.session.get(url, only_if_cached=True))
        return None if response.status_code == NOT_CACHED else response

    def fetch(self, url):
        """``GET url`` from the network, never following a redirect; requests-cache keeps it
        when its policy says so. Raises what the session's transport raises."""
        self._follow_the_file()
        return self._run(lambda: self.session.get(url, force_refresh=True, allow_redirects=False))

    def held(self, key):
        """Seconds left on the hold of ``key`` (0.0 when there is none or it has passed)."""
        found = self._read("SELECT until FROM holds WHERE key = ?", (key,))
        return max(0.0, found[0][0] - time.time()) if found else 0.0

    def hold(self, key, seconds):
        """Hold ``key`` for ``seconds`` from now (keeping its streak)."""
        self._write(
            "INSERT INTO holds (key, until) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET until = excluded.until",
            (key, time.time() + seconds),
        )

    def back_off(self, key, schedule):
        """Start a hold of ``key`` unless one is under way; ``(seconds, streak)`` or None.

        ``schedule(streak)`` gives the seconds of the ``streak``-th failure in a
        row; failures while a hold runs belong to it and are not counted.
        """
        now = time.time()
        found = self._read("SELECT until, streak FROM holds WHERE key = ?", (key,))
        if found and found[0][0] > now:
            return None
        streak = (found[0][1] if found else 0) + 1
        seconds = schedule(streak)
        # Only the process whose write lands first starts the hold (the others see it held).
        changed = self._write(
            "INSERT INTO holds (key, until, streak) VALUES (?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET until = excluded.until, streak = excluded.streak"
            " WHERE holds.until <= ?",
            (key, now + seconds, streak, now),
        )
        return (seconds, streak) if changed else None

    def prune(self, older_than):
        """Delete the answers stored more than ``older_than`` (a timedelta) ago and the holds
        that have ended, keeping a back-off's streak. The file is not vacuumed: freed pages
        are reused by the next answers."""
        self._follow_the_file()
        options = {} if self.in_memory else {"vacuum": False}  # the memory backend has none
        self._run(lambda: self.session.cache.delete(older_than=older_than, **options))
        self._write("DELETE FROM holds WHERE until < ? AND streak = 0", (time.time(),))

    def end_streak(self, key):
        """A success: the next failure of ``key`` starts the back-off afresh."""
        self._write("UPDATE holds SET streak = 0 WHERE key = ? AND streak > 0", (key,))

    def _read(self, sql, args):
        return self._run(lambda: self._execute(sql, args))

    def _write(self, sql, args):
        self._follow_the_file()
        return self._run(lambda: self._execute(sql, args))

    def _execute(self, sql, args):
        """One statement on the holds: its rows for a SELECT, else how many rows it changed."""
        with self._lock:
            cursor = self._db.execute(sql, args)
            return cursor.fetchall() if cursor.description else cursor.rowcount

    def _follow_the_file(self):
        """Before a write: open the file again when the one at ``path`` was replaced."""
        with self._lock:
            if not self.in_memory and file_id(self.path) != self._file_id:
                self._reopen("it was replaced")

    def _run(self, call):
        """``call()``; after a database error, the file is opened again and ``call`` once more.

        No lock is held while ``call`` runs (it may wait on the network).
        """
        opened = self._db
        try:
            return call()
        except sqlite3.DatabaseError as e:
            with self._lock:
                if self._db is opened:  # not already opened again by another thread
                    if self.in_memory:
                        raise
                    self._reopen(e)
            return call()

    def _reopen(self, reason):
        log.info("thumbnail cache %s: opening it again (%s)", self.path, reason)
        self._db.close()
        self._open()

    def _open(self):
        """Use the file; moved aside and rebuilt if damaged; memory if it cannot be written."""
        try:
            return self._use(self.path)
        except sqlite3.DatabaseError as e:
            if getattr(e, "sqlite_errorname", "") == "SQLITE_BUSY":
                raise  # another worker is writing: not a reason to give up the file
            if not is_damaged(e):
                return self._fall_back(e)
            move_aside(self.path, e, "thumbnail cache", log)
        try:
            return self._use(self.path)
        except sqlite3.DatabaseError as e:
            return self._fall_back(e)

    def _fall_back(self, error):
        log.warning(
            "thumbnail cache %s cannot be written (%s): this process keeps its cache in memory",
            self.path,
            error,
        )
        self._use(MEMORY)

    def _use(self, path):
        """Open ``path`` for the holds and the session's answers; DatabaseError when it fails."""
        db = connect(path)
        try:
            backend = (
                BaseCache()  # requests-cache's "memory" backend
                if path == MEMORY
                else SQLiteCache(
                    path, wal=True, busy_timeout=int(BUSY_TIMEOUT * 1000), serializer=SERIALIZER
                )
            )
        except sqlite3.DatabaseError:
            db.close()
            raise
        settings = self.session.settings  # requests-cache keeps them on the backend
        self.session.cache = backend
        self.session.settings = settings
        self._db, self._db_path, self._file_id = db, path, file_id(path)


def connect(path):
    """A connection to ``path`` with the holds table, proven writable; DatabaseError otherwise."""
    if path != MEMORY:
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
        except OSError as e:
            raise sqlite3.OperationalError(f"cannot create its folder: {e}") from None
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(HOLDS)
        # A read-only file opens and reads fine: only a write tells (requests-cache would
        # wait for ever on a write lock it cannot get).
        db.execute("DELETE FROM holds WHERE key = '' ")
        db.execute("PRAGMA quick_check(1)").fetchall()
    except sqlite3.DatabaseError:
        db.close()
        raise
    return db
