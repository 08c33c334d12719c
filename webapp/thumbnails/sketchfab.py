"""The Sketchfab Data API client: which image is a model's thumbnail.

One ``GET {API}/models/{mid}`` per model through a requests-cache
``CachedSession`` (SQLite with WAL): 200s with a usable thumbnail are kept
2 days and served stale for 14 days while the API fails. A 404 is remembered
for a day in :class:`LookupHolds`; a 429 or 503 stops all calls until its
Retry-After; an unreachable or timed-out API stops them for a short while, so
one dead API costs one timeout rather than one per thumbnail. While calls are
held, cached answers are still used. A look-up never retries.
"""

import email.utils
import logging
import math
import os
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

import requests
from flask import current_app
from requests_cache import CachedSession

from .lookup_holds import LookupHolds

log = logging.getLogger(__name__)
EXTENSION = "sketchrec.sketchfab"

CACHE_FOR = timedelta(days=2)
STALE_FOR = timedelta(days=14)
MISSING_FOR = 24 * 3600.0  # seconds a 404 is believed (shorter than a cached 200)
UNREACHABLE_FOR = 30.0  # seconds without calls after a timeout or connection error
RETRY_AFTER_DEFAULT = 60.0  # a 429/503 without a usable Retry-After
RETRY_AFTER_MAX = 3600.0
MIN_WIDTH = 200


@dataclass(frozen=True)
class Lookup:
    """A look-up's outcome: ``url`` of the image, or None with ``lasting`` True
    when the answer will not change soon (offline, or no such model)."""

    url: str | None
    lasting: bool = False


OFFLINE = Lookup(None, lasting=True)
MISSING = Lookup(None, lasting=True)
FAILED = Lookup(None)


class SketchfabClient:
    """Thumbnail look-ups against ``api_url`` with a cache file at ``cache_path``.

    The session and the SQLite connections are made on first use in each
    process, so a client created before gunicorn forks is never shared.
    """

    def __init__(self, api_url, timeout, cache_path, offline=False):
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        self.cache_path = cache_path
        self.offline = offline
        self._lock = threading.Lock()
        self._pid = None
        self._session = None
        self._holds = None

    def thumbnail(self, mid):
        """The :class:`Lookup` of ``mid``'s thumbnail.

        At most one API call; never raises for HTTP faults.
        """
        if self.offline:
            return OFFLINE
        session, holds = self._per_process()
        if holds.held(f"missing:{mid}"):
            return MISSING
        url = f"{self.api_url}/models/{quote(mid, safe='')}"
        try:
            # While calls are held, only the cache may answer (a 504 when it cannot).
            response = session.get(
                url, timeout=self.timeout, only_if_cached=bool(holds.held("api"))
            )
        except requests.RequestException as e:
            log.warning("Sketchfab unreachable (%s); no calls for %.0f s", e, UNREACHABLE_FOR)
            holds.hold("api", UNREACHABLE_FOR)
            return FAILED
        if response.status_code == 404:
            holds.hold(f"missing:{mid}", MISSING_FOR)
            return MISSING
        if response.status_code in (429, 503):
            wait = retry_after(response.headers.get("Retry-After"))
            log.warning("Sketchfab answered %d; no calls for %.0f s", response.status_code, wait)
            holds.hold("api", wait)
            return FAILED
        image = usable_image(response)
        return Lookup(image) if image else FAILED

    def _per_process(self):
        with self._lock:
            if self._pid != os.getpid():
                self._connect()
            return self._session, self._holds

    def _connect(self):
        os.makedirs(os.path.dirname(os.path.abspath(self.cache_path)), exist_ok=True)
        self._session = CachedSession(
            self.cache_path,
            backend="sqlite",
            wal=True,
            expire_after=CACHE_FOR,
            stale_if_error=STALE_FOR,
            allowable_codes=(200,),
            # A 200 without a usable image (bad JSON, no thumbnails) is not worth keeping.
            filter_fn=lambda response: usable_image(response) is not None,
        )
        self._holds = LookupHolds(self.cache_path)
        self._pid = os.getpid()


def usable_image(response):
    """The chosen image URL of a model JSON response, or None when there is none."""
    if response.status_code != 200:
        return None
    try:
        images = response.json()["thumbnails"]["images"]
    except (ValueError, KeyError, TypeError):
        return None
    return choose_image(images)


def choose_image(images):
    """URL of the smallest image at least 200 px wide, else of the largest; None if none.

    ``images`` is the API's ``thumbnails.images`` list of dicts with ``url``,
    ``width`` and ``height`` (px); entries without an http(s) URL or a
    positive integer width are ignored.
    """
    if not isinstance(images, list):
        return None
    sized = [
        (image["width"], image["url"])
        for image in images
        if isinstance(image, dict)
        and isinstance(image.get("width"), int)
        and image["width"] > 0
        and isinstance(image.get("url"), str)
        and image["url"].startswith(("https://", "http://"))
    ]
    if not sized:
        return None
    wide = [entry for entry in sized if entry[0] >= MIN_WIDTH]
    return (min(wide) if wide else max(sized))[1]


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
        offline=app.config["OFFLINE"],
    )


def current_client():
    """The current app's :class:`SketchfabClient`."""
    return current_app.extensions[EXTENSION]
