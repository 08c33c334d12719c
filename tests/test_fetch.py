"""``fetch`` against a real HTTP server on 127.0.0.1, including broken downloads."""

import http.server
import os
import threading

import pytest

from training.core.errors import BadInput
from training.fetch import fetch

from tests.training_helpers import run_training as run

pytestmark = pytest.mark.slow

LIKES = (
    "modelname|mid|uid\n" + "".join(f"model {i}|m{i}|u{i % 7}\n" for i in range(2000))
).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/likes.psv":
            self._send(200, LIKES)
        elif self.path == "/truncated.psv":
            self.send_response(200)
            self.send_header("Content-Length", str(len(LIKES)))
            self.end_headers()
            self.wfile.write(LIKES[: len(LIKES) // 2])
            self.wfile.flush()
            self.close_connection = True
        elif self.path == "/page.html":
            self._send(200, b"<html>rate limited</html>")
        else:
            self._send(404, b"not found")

    def _send(self, status, body):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


def test_downloads_atomically(server, tmp_path):
    out = tmp_path / "likes.psv"
    assert fetch(f"{server}/likes.psv", str(out), progress=False) == len(LIKES)
    assert out.read_bytes() == LIKES
    assert os.listdir(tmp_path) == ["likes.psv"]


@pytest.mark.parametrize(
    "path, message",
    [
        ("/truncated.psv", "download"),
        ("/missing.psv", "HTTP 404"),
        ("/page.html", "not a likes file"),
    ],
)
def test_a_broken_download_leaves_no_partial_file(server, tmp_path, path, message):
    out = tmp_path / "likes.psv"
    out.write_bytes(b"the earlier download")
    with pytest.raises(BadInput, match=message):
        fetch(server + path, str(out), progress=False)
    assert out.read_bytes() == b"the earlier download"
    assert os.listdir(tmp_path) == ["likes.psv"]


def test_cli_reports_an_unreachable_host_in_one_line(tmp_path):
    out = tmp_path / "likes.psv"
    result = run("fetch", "--out", out, "--url", "http://127.0.0.1:9/x.psv")
    assert result.returncode == 2
    assert result.stderr.startswith("error: http://127.0.0.1:9/x.psv: download failed")
    assert result.stderr.count("\n") == 1
    assert not out.exists()


def test_cli_fetch_then_prepare(server, tmp_path):
    out = tmp_path / "likes.psv"
    fetched = run("fetch", "--out", out, "--url", f"{server}/likes.psv")
    assert fetched.returncode == 0, fetched.stderr
    prepared = run("prepare", out, "--min-user-likes", 1, "--min-model-likes", 1)
    assert "Number of models: 2000" in prepared.stdout
