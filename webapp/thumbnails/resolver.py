"""A few background threads that run thumbnail look-ups, so request threads never wait on them.

Each mid is queued at most once at a time, and the queue is bounded: when it is
full, :meth:`Resolver.submit` says so at once instead of growing without end.
"""

import logging
import queue
import threading

log = logging.getLogger(__name__)


class Resolver:
    """Runs ``look_up(mid)`` on ``threads`` daemon threads, with at most ``backlog`` waiting."""

    def __init__(self, look_up, threads, backlog):
        self._look_up = look_up
        self._threads = threads
        self._queue = queue.Queue(maxsize=backlog)
        self._queued = set()  # mids waiting or being looked up
        self._lock = threading.Lock()
        self._started = False

    def submit(self, mid):
        """Queue a look-up of ``mid`` (or find it queued): True, or False when the queue is full."""
        with self._lock:
            if mid in self._queued:
                return True
            if not self._started:
                for _ in range(self._threads):
                    threading.Thread(
                        target=self._work, name="thumbnail-lookup", daemon=True
                    ).start()
                self._started = True
            try:
                self._queue.put_nowait(mid)
            except queue.Full:
                return False
            self._queued.add(mid)
            return True

    def queued(self):
        """How many look-ups wait or run now."""
        with self._lock:
            return len(self._queued)

    def _work(self):
        while True:
            mid = self._queue.get()
            try:
                self._look_up(mid)
            except Exception:  # noqa: BLE001 - a bug in one look-up must not end the thread
                log.exception("thumbnail look-up of %s failed", mid)
            finally:
                with self._lock:
                    self._queued.discard(mid)
