"""Bounded API answers: a transport adapter with an overall deadline, a body size cap, no gzip.

``requests``' own timeout bounds each socket read, not the answer: an API that
trickles a byte a second never times out, and ``response.content`` reads any
size. :class:`BoundedAdapter` reads the body itself, a chunk at a time
(``read1``: at most one socket read each), cuts the socket's timeout to what
is left of the deadline before each read and stops past the cap. It runs
inside ``requests``' ``send``, so whatever sits above it (requests-cache) only
ever sees an answer read whole, or :class:`Unanswered`. Redirects are never
followed here; the session is asked with ``allow_redirects=False``.
"""

import json
import time

import requests
import urllib3
from requests.adapters import HTTPAdapter

CHUNK = 64 * 1024  # bytes per read


class Unanswered(requests.RequestException):
    """No usable HTTP answer: unreachable, too slow, too large or not JSON (one-line reason)."""


class BoundedAdapter(HTTPAdapter):
    """An HTTPAdapter whose answers arrive whole within ``deadline`` seconds and ``max_bytes``.

    ``send`` raises :class:`Unanswered` for connection errors, the deadline,
    the cap and compressed bodies (a small gzip can expand past any cap);
    otherwise its response has its body in ``content`` and its connection
    back in the pool. Extra keywords go to ``HTTPAdapter``.
    """

    def __init__(self, deadline, max_bytes, **kwargs):
        super().__init__(**kwargs)
        self.deadline = deadline
        self.max_bytes = max_bytes

    def send(self, request, **kwargs):
        """Send ``request`` and read its answer whole (the caller's timeout and stream ignored)."""
        until = time.monotonic() + self.deadline
        request.headers["Accept-Encoding"] = "identity"
        # The timeout bounds connecting, then waiting for the headers; reading is bounded below.
        kwargs.update(stream=True, timeout=self.deadline)
        try:
            response = super().send(request, **kwargs)
        except requests.Timeout:
            raise Unanswered(f"no answer within {self.deadline:g} s") from None
        except requests.RequestException as e:
            raise Unanswered(f"unreachable ({type(e).__name__})") from None
        try:
            if response.headers.get("Content-Encoding", "identity").lower() != "identity":
                raise Unanswered("a compressed body although identity was asked for")
            response._content = read_body(response.raw, until, self.deadline, self.max_bytes)
        except Unanswered:
            response.close()
            raise
        response._content_consumed = True
        response.raw.release_conn()
        # Every request we send carries the same headers, so Vary cannot change our answer;
        # kept, it would send a cache-only read of requests-cache to the network on a mismatch.
        response.headers.pop("Vary", None)
        return response


def read_body(raw, until, deadline, max_bytes):
    """The bytes of urllib3 response ``raw`` up to its end, by ``until`` (monotonic seconds)."""
    sock = getattr(raw.connection, "sock", None)
    body = bytearray()
    while True:
        left = until - time.monotonic()
        if left <= 0:
            raise Unanswered(f"no whole answer within {deadline:g} s")
        if sock is not None:
            sock.settimeout(left)
        try:
            chunk = raw.read1(CHUNK)
        except (urllib3.exceptions.ReadTimeoutError, TimeoutError):
            raise Unanswered(f"no whole answer within {deadline:g} s") from None
        except (urllib3.exceptions.HTTPError, OSError) as e:
            raise Unanswered(f"an answer that broke off ({type(e).__name__})") from None
        if not chunk:
            return bytes(body)
        body += chunk
        if len(body) > max_bytes:
            raise Unanswered(f"a body larger than {max_bytes} bytes")


def json_body(response):
    """``response``'s body parsed as JSON; :class:`Unanswered` when it is not JSON (or too deep)."""
    try:
        return json.loads(response.content)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise Unanswered("a body that is not JSON") from None
