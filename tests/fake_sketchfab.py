"""A fake Sketchfab Data API: a real HTTP server on 127.0.0.1 in a thread.

``GET /v3/models/<mid>`` answers as told by ``modes[mid]`` (else ``default``),
after ``latency`` seconds (0 by default; 0.2 plays a healthy far-away API):

- ``ok``: 200 with the API's ``thumbnails.images`` list (100, 256 and 1024 px
  wide, pointing back at this server's ``/images/...``);
- ``404``, ``500``: that status;
- ``429``: 429 with ``Retry-After: retry_after``;
- ``slow``: ``ok`` after ``slow_seconds`` (1 s); ``delay``: ``ok`` after 2.5 s;
- ``hang``: headers never come (the connection is held for ``hang_seconds``);
- ``trickle``: a 200 ``ok`` body sent a byte at a time over 12 s;
- ``huge``: a 200 body of 100 MB, without a Content-Length;
- ``redirect``: 302 to a URL of this API that would answer ``ok``;
- ``crlf``: 200 whose image URLs carry ``\\r\\nSet-Cookie: ...``;
- ``nested``: 200 with JSON nested 100,000 lists deep;
- ``bad-json``: 200 with a body that is not JSON;
- ``vary``: ``ok`` with ``Vary: *`` (no stored answer would ever match it);
- ``gzip``: 200 ``ok`` compressed with gzip although the client asked for identity.

``GET /images/<mid>/<width>.png`` is a real PNG of that width (16:9), so a
browser can show it. ``hits`` lists the mids of every API request, in order.
"""

import gzip
import json
import re
import struct
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WIDTHS = (100, 256, 1024)
DELAY_SECONDS = 2.5
TRICKLE_SECONDS = 12.0
HUGE_BYTES = 100 * 1024 * 1024
NESTED_DEPTH = 100_000


class FakeSketchfab:
    """Start with :meth:`start`, stop with :meth:`stop`; ``url`` is the API base."""

    def __init__(self):
        self.modes = {}
        self.default = "ok"
        self.retry_after = "1"
        self.slow_seconds = 1.0
        self.hang_seconds = 30.0
        self.latency = 0.0
        self.hits = []
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def origin(self):
        return f"http://127.0.0.1:{self._server.server_port}"

    @property
    def url(self):
        return f"{self.origin}/v3"

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stopped.set()  # ends hanging and trickling answers
        self._server.shutdown()
        self._server.server_close()

    def reset(self):
        """Forget the modes, the latency and the hits (between tests)."""
        with self._lock:
            self.modes.clear()
            self.default = "ok"
            self.retry_after = "1"
            self.latency = 0.0
            self.hits.clear()

    def record(self, mid):
        with self._lock:
            self.hits.append(mid)
            return self.modes.get(mid, self.default)

    def pause(self, seconds):
        """Sleep ``seconds``, or less when the server stops."""
        self._stopped.wait(seconds)

    def model_json(self, mid, suffix=""):
        images = [
            {
                "url": f"{self.origin}/images/{mid}/{w}.png{suffix}",
                "width": w,
                "height": w * 9 // 16,
                "size": w * 40,
            }
            for w in WIDTHS
        ]
        return {"uid": mid, "name": f"model {mid}", "thumbnails": {"images": images}}


def png(width, height):
    """A solid-colour RGB PNG of ``width`` x ``height`` px, as bytes."""

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\x00" + b"\x4c\x8f\xd6" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _handler(fake):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as separate writes

        def handle(self):
            try:
                super().handle()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a deadline, a size cap, a server stopped)

        def do_GET(self):
            model = re.fullmatch(r"/v3/models/([^/?]+)(\?redirected)?", self.path)
            image = re.fullmatch(r"/images/[^/]+/(\d+)\.png", self.path)
            if model:
                self._model(model.group(1), redirected=bool(model.group(2)))
            elif image:
                width = int(image.group(1))
                self._send(200, png(width, width * 9 // 16), "image/png")
            else:
                self._send(404, b'{"detail": "Not found"}')

        def _model(self, mid, redirected):
            if redirected:  # only a client that follows redirects gets here
                self._send(200, json.dumps(fake.model_json(mid)).encode())
                return
            mode = fake.record(mid)
            fake.pause(fake.latency)
            if mode in ("slow", "delay"):
                fake.pause(fake.slow_seconds if mode == "slow" else DELAY_SECONDS)
            if mode in ("ok", "slow", "delay"):
                self._send(200, json.dumps(fake.model_json(mid)).encode())
            elif mode == "hang":
                fake.pause(fake.hang_seconds)
            elif mode == "trickle":
                self._trickle(json.dumps(fake.model_json(mid)).encode())
            elif mode == "huge":
                self._huge()
            elif mode == "redirect":
                self._send(302, b"", headers={"Location": f"/v3/models/{mid}?redirected"})
            elif mode == "crlf":
                body = fake.model_json(mid, suffix="\r\nSet-Cookie: stolen=1")
                self._send(200, json.dumps(body).encode())
            elif mode == "nested":
                self._send(200, b"[" * NESTED_DEPTH + b"]" * NESTED_DEPTH)
            elif mode == "vary":
                self._send(200, json.dumps(fake.model_json(mid)).encode(), headers={"Vary": "*"})
            elif mode == "gzip":
                body = gzip.compress(json.dumps(fake.model_json(mid)).encode())
                self._send(200, body, headers={"Content-Encoding": "gzip"})
            elif mode == "bad-json":
                self._send(200, b"<html>not json")
            elif mode == "429":
                self._send(
                    429, b'{"detail": "slow down"}', headers={"Retry-After": fake.retry_after}
                )
            else:
                self._send(int(mode), b'{"detail": "error"}')

        def _trickle(self, body):
            self._headers(200, "application/json", {"Content-Length": str(len(body))})
            gap = TRICKLE_SECONDS / len(body)
            for i in range(len(body)):
                self.wfile.write(body[i : i + 1])
                self.wfile.flush()
                fake.pause(gap)

        def _huge(self):
            self._headers(200, "application/json", {"Connection": "close"})
            self.close_connection = True
            block = b" " * (1024 * 1024)
            self.wfile.write(b'{"pad": "')
            for _ in range(HUGE_BYTES // len(block)):
                self.wfile.write(block)

        def _headers(self, status, content_type, headers):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()

        def _send(self, status, body, content_type="application/json", headers=None):
            self._headers(
                status, content_type, {"Content-Length": str(len(body)), **(headers or {})}
            )
            self.wfile.write(body)

        def log_message(self, *args):
            pass  # keep test output clean

    return Handler
