"""The server as `make serve` runs it (nginx in front of gunicorn) against slow and odd clients.

Real sockets on 127.0.0.1, bounded in count and time: slow clients never hold
the site, the answers nginx makes itself carry the app's security headers, and
a 413 leaves a client's connection usable or says it closes.
"""

import http.client
import os
import socket
import threading
import time

import pytest
import requests

from webapp import config, security_headers

from tests.admin_server import AdminServer

pytestmark = pytest.mark.slow

SLOW_HEADERS = 30
SLOW_BODIES = 20
SLOW_SECONDS = 8.0  # how long the slow clients keep at it
TRICKLE_EVERY = 0.5  # seconds between two bytes of a slow client


@pytest.fixture(scope="module", params=["nginx"])
def front(request, tmp_path_factory, demo_model):
    """The production server; the parameter is its ``FRONT``."""
    likes = os.path.join(os.path.dirname(demo_model.path), "likes.psv")
    folder = str(tmp_path_factory.mktemp("front"))
    env = {"FRONT": request.param}
    server = AdminServer(folder, demo_model.path, likes, env=env, access_log=True).start()
    yield server
    server.stop()


def trickle(port, head, stop):
    """Send ``head`` a byte every :data:`TRICKLE_EVERY` seconds until ``stop`` or the server
    closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        for byte in head:
            if stop.wait(TRICKLE_EVERY):
                return
            try:
                s.sendall(bytes([byte]))
            except OSError:
                return  # the server gave up on us: what it should do


def test_slow_clients_never_hold_the_site(front):
    stop = threading.Event()
    headers = b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: 1\r\n" * 100 + b"\r\n"
    body = b"POST /api/recommendations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    body += b'Content-Length: 1000\r\n\r\n{"likes": [' + b'"a",' * 200
    clients = [
        threading.Thread(target=trickle, args=(front.port, head, stop))
        for head in [headers] * SLOW_HEADERS + [body] * SLOW_BODIES
    ]
    for client in clients:
        client.start()
    seconds, statuses = [], []
    try:
        time.sleep(1.0)  # every slow client has sent something
        started = time.monotonic()
        while time.monotonic() - started < SLOW_SECONDS - 1.5:
            for path in ("/healthz", "/"):
                began = time.perf_counter()
                try:
                    statuses.append(requests.get(front.url + path, timeout=5).status_code)
                except requests.RequestException as e:
                    statuses.append(type(e).__name__)
                seconds.append(time.perf_counter() - began)
            time.sleep(0.2)
    finally:
        stop.set()
        for client in clients:
            client.join()
    assert statuses and set(statuses) == {200}, statuses
    assert max(seconds) < 1.0, sorted(seconds)[-5:]


def test_a_stalled_request_is_cut_off_within_seconds(front):
    with socket.create_connection(("127.0.0.1", front.port), timeout=15) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # and nothing more
        started = time.monotonic()
        answer = s.recv(4096)
        waited = time.monotonic() - started
    assert waited < 7 and (answer == b"" or answer.startswith(b"HTTP/1.1 408"))


def raw_answer(port, request):
    """Status line and headers (lowercase names) of the answer to the raw bytes ``request``."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    return head[0], {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in head[1:])}


@pytest.mark.parametrize(
    "request_bytes, status",
    [
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n", 400),
        (b"POST /api/recommendations HTTP/1.1\r\nHost: x\r\nContent-Length: 99999\r\n\r\n", 413),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, x\r\n\r\n", 501),
    ],
)
def test_answers_the_server_makes_itself_carry_the_security_headers(front, request_bytes, status):
    line, headers = raw_answer(front.port, request_bytes)
    assert line.split()[1] == str(status), line
    for name, value in security_headers.response_headers(config.defaults("")).items():
        assert headers.get(name.lower()) == value, (name, headers)


@pytest.mark.parametrize("size", [70_000, 2_000_000])
def test_after_a_413_the_connection_is_closed_or_still_usable(front, size):
    connection = http.client.HTTPConnection("127.0.0.1", front.port, timeout=10)
    body = b'{"likes": ["' + b"x" * size + b'"]}'
    connection.request("POST", "/api/recommendations", body, {"Content-Type": "application/json"})
    response = connection.getresponse()
    response.read()
    assert response.status == 413
    if response.getheader("Connection", "").lower() != "close":
        connection.request("GET", "/healthz")
        assert connection.getresponse().status == 200
    connection.close()


def test_the_access_log_names_the_client(front):
    requests.get(front.url + "/healthz?logged=1", timeout=10)
    time.sleep(0.5)
    assert any(
        line.startswith("127.0.0.1 ") and "/healthz?logged=1" in line
        for line in front.log().splitlines()
    )
