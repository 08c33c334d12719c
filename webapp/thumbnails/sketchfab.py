"""The Sketchfab Data API client: which image is a model's thumbnail.

Request threads only read the :class:`ThumbnailCache` and, for a model not yet
known, queue a look-up on the process's :class:`Resolver` and answer "pending"
at once. A look-up is one ``GET {API}/models/{mid}``, bounded by an overall
deadline and a 1 MB body cap, never following a redirect. Its outcome:

- a usable image: kept (fresh for 2 days, then served while a refresh runs, up
  to 14 days);
- a 404, or a model JSON without a usable image: the mid is held for a day, or
  an hour;
- a 429 or 503: the whole API is held until its Retry-After;
- anything else (unreachable, too slow, too large, a 5xx, a redirect, a body
  that is not JSON): the whole API is held with exponential back-off, 10 s
  doubling up to 15 min, reset by the next success.

A hold is logged once when it starts, without a traceback.
"""

import email.utils
import logging
import math
import os
import threading
import time
from dataclasses import dataclass
from urllib.parse import quote

import requests
from flask import current_app
from requests.adapters import HTTPAdapter

from . import upstream
from .image_urls import parse_origins, usable_image
from .resolver import Resolver
from .thumbnail_cache import ThumbnailCache

log = logging.getLogger(__name__)
EXTENSION = "sketchrec.sketchfab"

FRESH_FOR = 2 * 24 * 3600.0  # seconds an image URL is used without asking again
STALE_FOR = 14 * 24 * 3600.0  # seconds it is still shown while the API cannot answer
MISSING_FOR = 24 * 3600.0  # seconds a 404 is believed
NO_IMAGE_FOR = 3600.0  # seconds a model JSON without a usable image is believed
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
        self._cache = self._session = self._resolver = None

    def thumbnail(self, mid):
        """The :class:`Lookup` of ``mid``'s thumbnail, from the cache: never waits on the API."""
        if self.offline:
            return OFFLINE
        cache, resolver = self._per_process()
        known = cache.image(mid)
        if known and known[1] < FRESH_FOR:
            return Lookup(known[0], "found")
        if cache.held(f"missing:{mid}"):
            return MISSING
        queued = not cache.held("api") and resolver.submit(mid)
        if known and known[1] < STALE_FOR:
            return Lookup(known[0], "found")
        return PENDING if queued else FAILED

    def look_up(self, mid):
        """Ask the API about ``mid`` and record the outcome (runs on a resolver thread)."""
        cache, _ = self._per_process()
        if cache.held("api"):
            return  # a back-off began while this look-up waited in the queue
        try:
            answer = upstream.get(
                self._session,
                f"{self.api_url}/models/{quote(mid, safe='')}",
                self.timeout,
                MAX_BODY,
            )
            if answer.status == 404:
                cache.hold(f"missing:{mid}", MISSING_FOR)
                return
            if answer.status in (429, 503):
                wait = retry_after(answer.headers.get("Retry-After"))
                self._back_off(cache, f"answered {answer.status}", lambda streak: wait)
                return
            if answer.status != 200:
                raise upstream.Unanswered(f"answered {answer.status}")
            image = usable_image(answer.json(), self.image_origins)
        except upstream.Unanswered as e:
            self._back_off(cache, str(e), back_off_seconds)
            return
        cache.end_streak("api")
        if image:
            cache.remember(mid, image)
        else:
            cache.hold(f"missing:{mid}", NO_IMAGE_FOR)

    def lookups_queued(self):
        """Look-ups waiting or running in this process (0 before the first)."""
        with self._lock:
            started = self._pid == os.getpid()
        return self._resolver.queued() if started else 0

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
                self._cache = ThumbnailCache(self.cache_path)
                self._session = requests.Session()
                self._session.mount("http", HTTPAdapter(pool_maxsize=LOOKUP_THREADS))
                self._resolver = Resolver(self.look_up, LOOKUP_THREADS, BACKLOG)
                self._pid = os.getpid()
            return self._cache, self._resolver


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
