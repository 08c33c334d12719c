"""Events queued by request threads and written in batches by one background thread.

A request only appends a tuple to a bounded queue in memory, so recording an
event costs it no file access (figures in BENCHMARKS.md, ``bench/events.py``).
One daemon thread per worker process, started with the first event, takes
what has queued up, waits :data:`LINGER` for more, and writes it all in one
transaction; it also deletes events past the retention limit at its first
write and once a day after. When the file cannot be written (disk full,
unwritable, busy past the timeout) the batch is dropped and the failure
logged once until writes succeed again; when the queue is full, new events
are refused (:meth:`EventWriter.put` returns False). Either way only events
are lost: pages and lists never wait on the events file.
"""

import atexit
import collections
import logging
import sqlite3
import threading
import time

from .store import EventFile

log = logging.getLogger(__name__)

BACKLOG = 20_000  # events waiting in memory at most, per worker
BATCH = 2_000  # events per transaction at most
LINGER = 0.05  # seconds the writer waits for more events before a write
PRUNE_EVERY = 24 * 3600  # seconds
DAY = 24 * 3600


class EventWriter:
    """Writes queued rows to the events file at ``path``, keeping ``keep_days`` days."""

    def __init__(self, path, keep_days, backlog=BACKLOG):
        self.file = EventFile(path)
        self.keep_days = keep_days
        self.backlog = backlog
        self._rows = collections.deque()
        self._changed = threading.Condition()
        self._writing = False
        self._thread = None
        self._next_prune = 0.0
        self._dropped = 0  # events lost since the last successful write

    def put(self, row):
        """Queue one row (:data:`training.core.events_file.COLUMNS` order); False when full."""
        with self._changed:
            if len(self._rows) >= self.backlog:
                return False
            self._rows.append(row)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="event-writer", daemon=True)
                self._thread.start()
                atexit.register(self.flush, 2.0)
            self._changed.notify()
        return True

    def flush(self, timeout=5.0):
        """Wait until every queued row is written (or dropped); True unless timed out."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._rows and not self._writing, timeout)

    def _run(self):
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._rows)
                self._writing = True
            time.sleep(LINGER)
            with self._changed:
                batch = [self._rows.popleft() for _ in range(min(BATCH, len(self._rows)))]
            self._write(batch)
            with self._changed:
                self._writing = bool(self._rows)
                self._changed.notify_all()

    def _write(self, batch):
        try:
            self.file.append(batch)
        except (sqlite3.Error, OSError) as e:
            if not self._dropped:
                log.warning(
                    "events file %s cannot be written (%s): events dropped", self.file.path, e
                )
            self._dropped += len(batch)
            self.file.close()  # opened afresh for the next batch
            return
        if self._dropped:
            log.warning(
                "events file %s written again; %d events were dropped",
                self.file.path,
                self._dropped,
            )
            self._dropped = 0
        try:
            self._prune_when_due()
        except (sqlite3.Error, OSError) as e:
            log.warning("events file %s cannot be pruned (%s)", self.file.path, e)

    def _prune_when_due(self):
        now = time.time()
        if now < self._next_prune:
            return
        self._next_prune = now + PRUNE_EVERY
        gone = self.file.prune(now - self.keep_days * DAY)
        if gone:
            log.info(
                "events file %s: deleted %d events older than %d days",
                self.file.path,
                gone,
                self.keep_days,
            )
