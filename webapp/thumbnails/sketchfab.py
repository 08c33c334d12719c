"""The Sketchfab Data API client: which image is a model's thumbnail.

API answers are cached by requests-cache: a ``CachedSession`` on the
:class:`ThumbnailCache` file keeps a 200 with a usable image, fresh for 2 days
(``expire_after``), then still served for 14 more while it is refreshed or the
API fails (``stale_if_error``). Its transport, :class:`~.upstream.BoundedAdapter`,
reads every answer whole within an overall deadline and a 1 MB cap before
requests-cache sees it.

Request threads only read that cache and, for a model not yet known (or
stale), queue a look-up on the process's :class:`Resolver` and answer
"pending" at once. A look-up is one ``GET {API}/models/{mid}``, never
following a redirect. Its outcome:

- a usable image: kept by requests-cache;
- a 404, or a model JSON without a usable image: the mid is held for a day, or
  an hour;
- a 429 or 503: the whole API is held until its Retry-After;
- anything else (unreachable, too slow, too large, a 5xx, a redirect, a body
  that is not JSON): the whole API is held with exponential back-off, 10 s
  doubling up to 15 min, reset by the next success.

A hold is logged once when it starts, without a traceback. Each process
prunes the cache at its first look-up and daily after (answers older than
the 16 days they can be shown, holds that have ended), so the file does not
grow without end.
"""

import email.utils
import logging
import math
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

from flask import current_app
from requests_cache import CachedSession

from .image_urls import parse_origins, usable_image
from .resolver import Resolver
from .thumbnail_cache import ThumbnailCache
from .upstream import BoundedAdapter, Unanswered, json_body

log = logging.getLogger(__name__)
EXTENSION = "sketchrec.sketchfab"

FRESH_FOR = timedelta(days=2)  # an answer is used without asking again
STALE_FOR = timedelta(days=14)  # then still shown while it is refreshed or the API fails
MISSING_FOR = 24 * 3600.0  # seconds a 404 is believed
NO_IMAGE_FOR = 3600.0  # seconds a model JSON without a usable image is believed
KEPT_FOR = FRESH_FOR + STALE_FOR  # an answer older than this is never shown: pruned
PRUNE_EVERY = 24 * 3600.0  # seconds between prunes of the cache, in each process
BACK_OFF_FIRST = 10.0  # seconds without calls after the first failure in a row
BACK_OFF_MAX = 15 * 60.0
RETRY_AFTER_DEFAULT = 60.0  # a 429/503 without a usable Retry-After
RETRY_AFTER_MAX = 3600.0
MAX_BODY = 1024 * 1024  # bytes: a model JSON is a few KB
LOOKUP_THREADS = 4  # per process
BACKLOG = 256  # look-ups waiting per process


@dataclass(frozen=True)
class Lookup:
    """A look-up's outcome: the image ``url``, or None and why (``state``).

    ``state`` is ``found``, ``pending`` (asked in the background; ask again in
    a moment), ``failed`` (the API is held or failing) or ``lasting`` (no image
    soon: offline, or no such model on Sketchfab).
    """

    url: str | None
    state: str


OFFLINE = MISSING = Lookup(None, "lasting")
FAILED = Lookup(None, "failed")
PENDING = Lookup(None, "pending")


def back_off_seconds(streak):
    """Seconds of the ``streak``-th API failure in a row: 10 s doubling, at most 15 min."""
    return min(BACK_OFF_FIRST * 2 ** min(streak - 1, 32), BACK_OFF_MAX)


class SketchfabClient:
    """Thumbnail look-ups against ``api_url`` with a cache file at ``cache_path``.

    ``timeout`` is the overall deadline of one API answer, in seconds;
    ``image_origins`` the ``scheme://host[:port]`` an image URL may have. The
    cache, the HTTP session and the resolver threads are made on first use in
    each process, so a client created before gunicorn forks is never shared.
    """

    def __init__(self, api_url, timeout, cache_path, image_origins, offline=False):
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        self.cache_path = cache_path
        self.image_origins = frozenset(image_origins)
        self.offline = offline
        self._lock = threading.Lock()
        self._pid = None
        self._cache = self._resolver = None
        self._pruned_at = None  # time.monotonic() of this process's last prune

    def thumbnail(self, mid):
        """The :class:`Lookup` of ``mid``'s thumbnail, from the cache: never waits on the API."""
        if self.offline:
            return OFFLINE
        cache, resolver = self._per_process()
        answer = cache.answer(self.model_url(mid))
        image = answer is not None and self.image_of(answer)
        if image and not answer.is_expired:
            return Lookup(image, "found")
        if cache.held(f"missing:{mid}"):
            return MISSING
        queued = not cache.held("api") and resolver.submit(mid)
        if image:  # stale, being refreshed
            return Lookup(image, "found")
        return PENDING if queued else FAILED

    def look_up(self, mid):
        """Ask the API about ``mid`` and record the outcome (runs on a resolver thread)."""
        cache, _ = self._per_process()
        self._prune_when_due(cache)
        if cache.held("api"):
            return  # a back-off began while this look-up waited in the queue
        try:
            response = cache.fetch(self.model_url(mid))
            if response.status_code == 404:
                cache.hold(f"missing:{mid}", MISSING_FOR)
                return
            if response.status_code in (429, 503):
                wait = retry_after(response.headers.get("Retry-After"))
                self._back_off(cache, f"answered {response.status_code}", lambda streak: wait)
                return
            if response.status_code != 200:
                raise Unanswered(f"answered {response.status_code}")
            image = self.image_of(response)
        except Unanswered as e:
            self._back_off(cache, str(e), back_off_seconds)
            return
        cache.end_streak("api")
        if not image:  # requests-cache did not keep it (see worth_keeping)
            cache.hold(f"missing:{mid}", NO_IMAGE_FOR)

    def model_url(self, mid):
        """The API URL of model ``mid``."""
        return f"{self.api_url}/models/{quote(mid, safe='')}"

    def image_of(self, response):
        """The chosen image URL of a model JSON ``response``, or None; Unanswered if not JSON."""
        return usable_image(json_body(response), self.image_origins)

    def worth_keeping(self, response):
        """requests-cache's filter: a 200 is kept only with a usable image.

        Other answers are never stored (``allowable_codes``), but requests-cache
        also deletes what its filter refuses, so they must pass: a 500 or its
        own "not cached" 504 must not delete a stale answer still worth showing.
        """
        if response.status_code != 200:
            return True
        try:
            return self.image_of(response) is not None
        except Unanswered:
            return False

    def lookups_queued(self):
        """Look-ups waiting or running in this process (0 before the first)."""
        with self._lock:
            started = self._pid == os.getpid()
        return self._resolver.queued() if started else 0

    def _prune_when_due(self, cache):
        """Prune the cache at this process's first look-up and every :data:`PRUNE_EVERY`
        seconds after, on the resolver thread: without it the file only grows."""
        with self._lock:
            now = time.monotonic()
            if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY:
                return
            self._pruned_at = now
        try:
            cache.prune(KEPT_FOR)
        except sqlite3.Error as e:  # the look-up itself may still succeed
            log.warning("thumbnail cache %s: pruning failed (%s)", cache.path, e)

    def _back_off(self, cache, reason, schedule):
        started = cache.back_off("api", schedule)
        if started:  # None: another look-up's failure already started this hold
            seconds, streak = started
            log.warning(
                "Sketchfab API %s (failure %d in a row): no calls for %.0f s",
                reason,
                streak,
                seconds,
            )

    def _per_process(self):
        with self._lock:
            if self._pid != os.getpid():
                self._cache = ThumbnailCache(self.cache_path, self._session())
                self._resolver = Resolver(self.look_up, LOOKUP_THREADS, BACKLOG)
                self._pid, self._pruned_at = os.getpid(), None
            return self._cache, self._resolver

    def _session(self):
        """A requests-cache session for the API (its backend is set by the ThumbnailCache)."""
        session = CachedSession(
            backend="memory",
            expire_after=FRESH_FOR,
            stale_if_error=STALE_FOR,
            allowable_codes=(200,),
            filter_fn=self.worth_keeping,
        )
        session.headers["Accept"] = "application/json"
        adapter = BoundedAdapter(self.timeout, MAX_BODY, pool_maxsize=LOOKUP_THREADS)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session


def retry_after(value):
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), within 1 s..1 h."""
    if value is None:
        return RETRY_AFTER_DEFAULT
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return RETRY_AFTER_DEFAULT
    if not math.isfinite(seconds):
        return RETRY_AFTER_DEFAULT
    return min(max(seconds, 1.0), RETRY_AFTER_MAX)


def init_app(app):
    """Attach a :class:`SketchfabClient` built from the app's configuration."""
    app.extensions[EXTENSION] = SketchfabClient(
        app.config["SKETCHFAB_API_URL"],
        app.config["SKETCHFAB_TIMEOUT"],
        app.config["THUMBNAIL_CACHE"],
        parse_origins(app.config["SKETCHFAB_IMAGE_ORIGINS"]),
        offline=app.config["OFFLINE"],
    )


def current_client():
    """The current app's :class:`SketchfabClient`."""
    return current_app.extensions[EXTENSION]
