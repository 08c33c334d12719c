"""The thumbnail cache: one SQLite file (WAL) shared by every worker process, healing itself.

Two tables: ``images(mid, url, fetched)`` (the chosen image URL of each model
and when it was fetched) and ``holds(key, until, streak)``: deadlines before
which nothing is asked of the API, ``api`` for the whole API (``streak``:
failures in a row, for the exponential back-off) and ``missing:<mid>`` for a
model without a usable image. Times are Unix seconds, so processes agree.

A file that is not SQLite (or is damaged) is moved aside and rebuilt, with one
warning. A file that cannot be written is reported once, and the process keeps
a cache in memory instead. Both are checked when the file is opened, again
whenever a statement fails, and before each write when the file at ``path`` is
no longer the one opened (another worker moved a damaged file aside).
"""

import logging
import os
import sqlite3
import threading
import time

log = logging.getLogger(__name__)

MEMORY = ":memory:"
BUSY_TIMEOUT = 2.0  # seconds a statement waits for another process's write
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS images (mid TEXT PRIMARY KEY, url TEXT NOT NULL, fetched REAL)",
    "CREATE TABLE IF NOT EXISTS holds"
    " (key TEXT PRIMARY KEY, until REAL NOT NULL, streak INTEGER NOT NULL DEFAULT 0)",
)
DAMAGED = {"SQLITE_NOTADB", "SQLITE_CORRUPT"}


class ThumbnailCache:
    """Image URLs and holds in the SQLite file at ``path`` (one connection per process)."""

    def __init__(self, path):
        self.path = path
        self._lock = threading.Lock()
        self._db = self._open()

    @property
    def in_memory(self):
        """True once the process fell back to a cache in memory."""
        return self._db_path == MEMORY

    def image(self, mid):
        """``(url, age in seconds)`` of ``mid``'s cached image, or None."""
        found = self._read("SELECT url, fetched FROM images WHERE mid = ?", (mid,))
        return (found[0][0], time.time() - found[0][1]) if found else None

    def remember(self, mid, url):
        """Keep ``url`` as ``mid``'s image, fetched now."""
        self._write("INSERT OR REPLACE INTO images VALUES (?, ?, ?)", (mid, url, time.time()))

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

    def end_streak(self, key):
        """A success: the next failure of ``key`` starts the back-off afresh."""
        self._write("UPDATE holds SET streak = 0 WHERE key = ? AND streak > 0", (key,))

    def _read(self, sql, args):
        return self._run(lambda db: db.execute(sql, args).fetchall())

    def _write(self, sql, args):
        """Rows changed; the file is reopened first when it was replaced since it was opened."""
        with self._lock:
            if not self.in_memory and file_id(self.path) != self._file_id:
                self._reopen("it was replaced")
        return self._run(lambda db: db.execute(sql, args).rowcount)

    def _run(self, statement):
        with self._lock:
            try:
                return statement(self._db)
            except sqlite3.DatabaseError as e:
                if self.in_memory:
                    raise
                self._reopen(e)
                return statement(self._db)

    def _reopen(self, reason):
        log.info("thumbnail cache %s: opening it again (%s)", self.path, reason)
        self._db.close()
        self._db = self._open()

    def _open(self):
        """A working connection to the file; moved aside if damaged; in memory if unwritable."""
        try:
            return self._connect(self.path)
        except sqlite3.DatabaseError as e:
            if getattr(e, "sqlite_errorname", "") == "SQLITE_BUSY":
                raise  # another worker is writing: not a reason to give up the file
            if getattr(e, "sqlite_errorname", "") not in DAMAGED:
                return self._fall_back(e)
            aside = move_aside(self.path)
            log.warning(
                "thumbnail cache %s is not a usable SQLite file (%s): moved to %s, rebuilt empty",
                self.path,
                e,
                aside,
            )
        try:
            return self._connect(self.path)
        except sqlite3.DatabaseError as e:
            return self._fall_back(e)

    def _fall_back(self, error):
        log.warning(
            "thumbnail cache %s cannot be written (%s): this process keeps its cache in memory",
            self.path,
            error,
        )
        return self._connect(MEMORY)

    def _connect(self, path):
        """Open ``path``, create the tables and prove a write works; DatabaseError otherwise."""
        if path != MEMORY:
            try:
                os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            except OSError as e:
                raise sqlite3.OperationalError(f"cannot create its folder: {e}") from None
        db = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
        )
        try:
            db.execute("PRAGMA journal_mode=WAL")
            for statement in SCHEMA:
                db.execute(statement)
            # A read-only file opens and reads fine: only a write tells.
            db.execute("DELETE FROM holds WHERE key = '' ")
            db.execute("PRAGMA quick_check(1)").fetchall()
        except sqlite3.DatabaseError:
            db.close()
            raise
        self._db_path = path
        self._file_id = file_id(path)
        return db


def file_id(path):
    """``(device, inode)`` of the file at ``path``; None when there is none."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_dev, found.st_ino


def move_aside(path):
    """Rename ``path`` and its WAL files to ``<path>.broken-<unix time>...``; the new name."""
    aside = f"{path}.broken-{int(time.time())}"
    for suffix in ("", "-wal", "-shm"):
        try:
            os.replace(path + suffix, aside + suffix)
        except FileNotFoundError:
            pass
    return aside
