"""A fake Sketchfab Data API: a real HTTP server on 127.0.0.1 in a thread.

``GET /v3/models/<mid>`` answers as told by ``modes[mid]`` (else ``default``):

- ``ok``: 200 with the API's ``thumbnails.images`` list (100, 256 and 1024 px
  wide, pointing back at this server's ``/images/...``);
- ``404``, ``500``: that status;
- ``429``: 429 with ``Retry-After: retry_after``;
- ``slow``: ``ok`` after ``slow_seconds``;
- ``bad-json``: 200 with a body that is not JSON.

``GET /images/<mid>/<width>.png`` is a real PNG of that width (16:9), so a
browser can show it. ``hits`` lists the mids of every API request, in order.
"""

import json
import re
import struct
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WIDTHS = (100, 256, 1024)


class FakeSketchfab:
    """Start with :meth:`start`, stop with :meth:`stop`; ``url`` is the API base."""

    def __init__(self):
        self.modes = {}
        self.default = "ok"
        self.retry_after = "1"
        self.slow_seconds = 1.0
        self.hits = []
        self._lock = threading.Lock()
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
        self._server.shutdown()
        self._server.server_close()

    def reset(self):
        """Forget the modes and the hits (between tests)."""
        with self._lock:
            self.modes.clear()
            self.default = "ok"
            self.retry_after = "1"
            self.hits.clear()

    def record(self, mid):
        with self._lock:
            self.hits.append(mid)
            return self.modes.get(mid, self.default)

    def model_json(self, mid):
        images = [
            {
                "url": f"{self.origin}/images/{mid}/{w}.png",
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

        def do_GET(self):
            model = re.fullmatch(r"/v3/models/([^/?]+)", self.path)
            image = re.fullmatch(r"/images/[^/]+/(\d+)\.png", self.path)
            if model:
                self._model(model.group(1))
            elif image:
                width = int(image.group(1))
                self._send(200, png(width, width * 9 // 16), "image/png")
            else:
                self._send(404, b'{"detail": "Not found"}')

        def _model(self, mid):
            mode = fake.record(mid)
            if mode == "slow":
                time.sleep(fake.slow_seconds)
            if mode in ("ok", "slow"):
                self._send(200, json.dumps(fake.model_json(mid)).encode())
            elif mode == "bad-json":
                self._send(200, b"<html>not json")
            elif mode == "429":
                self._send(
                    429, b'{"detail": "slow down"}', headers={"Retry-After": fake.retry_after}
                )
            else:
                self._send(int(mode), b'{"detail": "error"}')

        def _send(self, status, body, content_type="application/json", headers=None):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test): nothing to do

        def log_message(self, *args):
            pass  # keep test output clean

    return Handler
