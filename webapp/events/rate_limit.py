"""Events per visitor and second, limited in each worker process (a token bucket per visitor).

A visitor may send :data:`BURST` events at once (a page of cards coming into
view) and :data:`PER_SECOND` a second after that; more are answered 429.
Buckets live in memory, so with W workers a visitor gets up to W times the
rate: enough to stop a runaway script from filling the file, without a
shared write per event. The least recently seen visitors are forgotten past
:data:`MAX_VISITORS`.
"""

import collections
import threading
import time

BURST = 200  # events
PER_SECOND = 2.0  # events a second, sustained
MAX_VISITORS = 100_000  # buckets kept per worker (about 100 bytes each)


class VisitorRate:
    """Token buckets of ``burst`` events refilled at ``per_second``, one per visitor."""

    def __init__(self, burst=BURST, per_second=PER_SECOND, max_visitors=MAX_VISITORS):
        self.burst = burst
        self.per_second = per_second
        self.max_visitors = max_visitors
        self._buckets = collections.OrderedDict()  # visitor -> (tokens, monotonic time)
        self._lock = threading.Lock()

    def allow(self, visitor, now=None):
        """Take one event from ``visitor``'s bucket: True, or False when it is empty."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, then = self._buckets.pop(visitor, (self.burst, now))
            tokens = min(self.burst, tokens + (now - then) * self.per_second)
            allowed = tokens >= 1
            self._buckets[visitor] = (tokens - 1 if allowed else tokens, now)
            if len(self._buckets) > self.max_visitors:
                self._buckets.popitem(last=False)
        return allowed
