"""Admin authentication: the password hash, throttled logins, auth before the body."""

import base64
import logging
import os
import select
import socket
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from werkzeug.security import check_password_hash, generate_password_hash

from webapp import create_app
from webapp.admin import auth
from webapp.admin.throttle import LoginThrottle

from tests.admin_server import PASSWORD, AdminServer

GOOD_HASH = generate_password_hash("s3cret")


def test_admin_password_command_prints_a_hash_that_checks():
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "MODEL_PATH": "/nonexistent.npz"})
    result = app.test_cli_runner().invoke(args=["admin-password"], input="s3cret\ns3cret\n")
    assert result.exit_code == 0, result.output
    assert check_password_hash(result.output.strip().splitlines()[-1], "s3cret")


@pytest.mark.parametrize(
    "stored",
    [
        "hunter2-plain-password",  # a password where the hash belongs
        GOOD_HASH.split("$")[0],  # "$salt" and "$hash" eaten by the shell
        GOOD_HASH.rsplit("$", 1)[0] + "$",  # the digest eaten
        "pbkdf2:nosuchdigest:1000$" + GOOD_HASH.split("$", 1)[1],
        "scrypt:many:8:1$" + GOOD_HASH.split("$", 1)[1],
    ],
)
def test_a_malformed_hash_turns_admin_off_with_one_line_that_keeps_the_secret(
    make_app, demo_model, caplog, stored
):
    with caplog.at_level(logging.ERROR, logger="webapp.admin.auth"):
        client = make_app(demo_model.path, ADMIN_PASSWORD_HASH=stored).test_client()
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "SKETCHREC_ADMIN_PASSWORD_HASH" in errors[0]
    assert "\n" not in errors[0]
    for part in stored.split("$"):
        assert not part or part not in errors[0]
    assert client.get("/admin").status_code == 404
    assert client.get("/healthz").status_code == 200  # the public site keeps serving


def test_a_good_hash_needs_credentials(make_app, demo_model, tmp_path):
    app = make_app(demo_model.path, ADMIN_PASSWORD_HASH=GOOD_HASH, JOBS_DIR=str(tmp_path / "jobs"))
    client = app.test_client()
    assert client.get("/admin").status_code == 401
    assert client.get("/admin", auth=("admin", "s3cret")).status_code == 200


def test_a_wrong_user_name_costs_the_same_password_check(
    make_app, demo_model, tmp_path, monkeypatch
):
    """A wrong user name runs the real scrypt check too: as slow as a wrong password."""
    app = make_app(demo_model.path, ADMIN_PASSWORD_HASH=GOOD_HASH, JOBS_DIR=str(tmp_path / "jobs"))
    checked = []

    def counting_check(stored, password):
        checked.append(stored)
        return check_password_hash(stored, password)

    monkeypatch.setattr(auth, "check_password_hash", counting_check)
    client = app.test_client()
    assert client.get("/admin", auth=("root", "s3cret")).status_code == 401
    assert client.get("/admin", auth=("admin", "wrong")).status_code == 401
    assert checked == [GOOD_HASH, GOOD_HASH]


@pytest.mark.parametrize("when", ["at start-up", "while running"])
def test_a_garbage_throttle_file_is_moved_aside_and_admin_keeps_working(
    make_app, demo_model, tmp_path, caplog, when
):
    jobs = tmp_path / "jobs"
    app = make_app(demo_model.path, ADMIN_PASSWORD_HASH=GOOD_HASH, JOBS_DIR=str(jobs))
    client = app.test_client()
    jobs.mkdir(exist_ok=True)
    if when == "while running":
        assert client.get("/admin", auth=("admin", "s3cret")).status_code == 200
    garbage = b"not a database, " * 512
    (jobs / ".logins.sqlite").write_bytes(garbage)
    with caplog.at_level(logging.WARNING, logger="webapp.admin.throttle"):
        assert client.get("/admin", auth=("admin", "s3cret")).status_code == 200
    assert [r.getMessage() for r in caplog.records][0].startswith("admin login throttle")
    (aside,) = jobs.glob(".logins.sqlite.broken-*")
    assert aside.read_bytes() == garbage  # kept for a look
    assert client.get("/admin", auth=("admin", "wrong")).status_code == 401
    with sqlite3.connect(jobs / ".logins.sqlite") as db:  # the rebuilt file counts again
        assert db.execute("SELECT count FROM failures").fetchall() == [(1,)]


def test_the_throttle_counts_per_address_and_window(tmp_path, caplog):
    throttle = LoginThrottle(str(tmp_path / "logins.sqlite"), limit=2, window=60)
    assert throttle.attempt("10.0.0.1", now=1000) is None
    assert throttle.attempt("10.0.0.1", now=1001) is None
    with caplog.at_level(logging.WARNING, logger="webapp.admin.throttle"):
        assert throttle.attempt("10.0.0.1", now=1010) == 50
        assert throttle.attempt("10.0.0.1", now=1020) == 40
    assert [r.getMessage() for r in caplog.records] == [
        "admin login: 2 failed attempts from 10.0.0.1; refusing it for 50 s"
    ]
    assert throttle.attempt("10.0.0.2", now=1020) is None  # another address
    assert throttle.attempt("10.0.0.1", now=1061) is None  # a new window
    throttle.succeeded("10.0.0.1")
    assert throttle.attempt("10.0.0.1", now=1062) is None
    assert throttle.attempt("10.0.0.1", now=1063) is None


@pytest.fixture(scope="module")
def guarded(tmp_path_factory, demo_model):
    """gunicorn with the default upload limit (256 MB) and a 5-attempt, 6-second login window."""
    likes = os.path.join(os.path.dirname(demo_model.path), "likes.psv")
    server = AdminServer(
        str(tmp_path_factory.mktemp("guarded")),
        demo_model.path,
        likes,
        max_upload=256 * 1024 * 1024,
        env={"SKETCHREC_ADMIN_LOGIN_ATTEMPTS": "5", "SKETCHREC_ADMIN_LOGIN_WINDOW": "6"},
    ).start()
    yield server
    server.stop()


def admin_get(server, password):
    return requests.get(server.url + "/admin", auth=("admin", password), timeout=30)


@pytest.mark.slow
def test_concurrent_guesses_are_throttled_across_workers(guarded):
    """40 wrong passwords, 8 at a time over 2 workers x 4 threads: 5 password checks, then 429."""
    health_seconds, stop = [], threading.Event()

    def probe_health():
        with requests.Session() as session:
            while not stop.is_set():
                started = time.perf_counter()
                assert session.get(guarded.url + "/healthz", timeout=30).status_code == 200
                health_seconds.append(time.perf_counter() - started)

    prober = threading.Thread(target=probe_health)
    prober.start()
    try:
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda i: admin_get(guarded, f"guess {i}"), range(40)))
    finally:
        stop.set()
        prober.join()
    statuses = [a.status_code for a in answers]
    assert statuses.count(401) == 5 and statuses.count(429) == 35
    waits = {int(a.headers["Retry-After"]) for a in answers if a.status_code == 429}
    assert waits and all(1 <= w <= 6 for w in waits)
    # The right password is refused too while the address is throttled.
    assert admin_get(guarded, PASSWORD).status_code == 429
    assert guarded.log().count("failed attempts from 127.0.0.1") == 1
    assert health_seconds  # the site answered during the flood (bench/load.py times it)
    time.sleep(max(waits) + 0.5)
    assert admin_get(guarded, PASSWORD).status_code == 200


def send_headers_then_stream(server, path, total_bytes, headers=()):
    """POST ``total_bytes`` of body to ``path`` over a raw socket, 64 KB at a time, until an answer.

    Returns ``(status line, body bytes sent when the answer arrived)``.
    """
    boundary = "sketchrec"
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {total_bytes}\r\n" + "".join(f"{h}\r\n" for h in headers) + "\r\n"
    )
    part = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="likes"; filename="big.psv"\r\n\r\n'
    ).encode()
    chunk = b"x|m|u\n" * 10_000
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        s.sendall(head.encode() + part)
        sent, deadline = len(part), time.monotonic() + 30
        while time.monotonic() < deadline:
            readable, writable, _ = select.select([s], [s] if sent < total_bytes else [], [], 1)
            if readable:
                return s.recv(4096).split(b"\r\n", 1)[0].decode(), sent
            if writable:
                sent += s.send(chunk[: total_bytes - sent])
    raise AssertionError(f"no answer after {sent} bytes")


@pytest.mark.slow
@pytest.mark.parametrize("credentials", [None, "admin:wrong"])
def test_an_unauthenticated_upload_is_refused_before_its_body_is_read(guarded, credentials):
    headers = []
    if credentials:
        headers.append(f"Authorization: Basic {base64.b64encode(credentials.encode()).decode()}")
    status, sent = send_headers_then_stream(guarded, "/admin/upload", 200 * 1024 * 1024, headers)
    assert status.startswith("HTTP/1.1 401")
    # The answer came while the client was still sending: the body was never waited for.
    assert sent < 20 * 1024 * 1024
    assert os.listdir(guarded.tmp_dir) == [] and os.listdir(guarded.data_dir) == ["likes.psv"]
    requests.get(guarded.url + "/admin", auth=("admin", PASSWORD), timeout=10)  # clear the count


@pytest.mark.parametrize("hops, separate", [(0, False), (1, True)])
def test_behind_a_proxy_the_throttle_counts_each_forwarded_client(
    make_app, demo_model, tmp_path, hops, separate
):
    app = make_app(
        demo_model.path,
        ADMIN_PASSWORD_HASH=GOOD_HASH,
        ADMIN_LOGIN_ATTEMPTS=2,
        JOBS_DIR=str(tmp_path / "jobs"),
        PROXY_HOPS=hops,
    )
    client = app.test_client()

    def guess(address):
        headers = {"X-Forwarded-For": address}
        return client.get("/admin", auth=("admin", "wrong"), headers=headers).status_code

    assert [guess("198.51.100.7") for _ in range(3)] == [401, 401, 429]
    # Another client behind the same proxy: its own count only when the proxy is trusted.
    assert guess("203.0.113.9") == (401 if separate else 429)
