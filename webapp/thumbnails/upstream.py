"""One bounded GET of the Sketchfab API: an overall deadline, a body size cap, no redirects.

``requests``' own timeout bounds each socket read, not the answer: an API that
trickles a byte a second never times out, and ``response.content`` reads any
size. Here the body is read a chunk at a time (``read1``: at most one socket
read each), the socket's timeout is cut to what is left of the deadline before
each read, and reading stops past the cap.
"""

import json
import time
from dataclasses import dataclass

import requests
import urllib3

CHUNK = 64 * 1024  # bytes per read


class Unanswered(Exception):
    """No usable HTTP answer: unreachable, too slow, too large or not JSON (one-line reason)."""


@dataclass(frozen=True)
class Answer:
    """An HTTP answer read whole: ``status``, ``headers`` and the ``body`` bytes."""

    status: int
    headers: dict
    body: bytes

    def json(self):
        """The body parsed as JSON; :class:`Unanswered` when it is not JSON (or absurdly deep)."""
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            raise Unanswered("a body that is not JSON") from None


def get(session, url, deadline, max_bytes):
    """GET ``url`` with ``session``, read whole within ``deadline`` seconds and ``max_bytes``.

    Redirects are returned as they are (3xx), never followed. Raises
    :class:`Unanswered` for connection errors, the deadline, the cap and
    compressed bodies (a small gzip can expand past any cap).
    """
    until = time.monotonic() + deadline
    try:
        response = session.get(
            url,
            stream=True,
            allow_redirects=False,
            timeout=deadline,  # connecting, then waiting for the headers
            headers={"Accept": "application/json", "Accept-Encoding": "identity"},
        )
    except requests.Timeout:
        raise Unanswered(f"no answer within {deadline:g} s") from None
    except requests.RequestException as e:
        raise Unanswered(f"unreachable ({type(e).__name__})") from None
    with response:
        if response.headers.get("Content-Encoding", "identity").lower() != "identity":
            raise Unanswered("a compressed body although identity was asked for")
        body = read_body(response.raw, until, deadline, max_bytes)
        return Answer(response.status_code, dict(response.headers), body)


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
