"""POST /api/events: checked bodies, list tickets, the per-visitor rate, and the SQLite file
(batched writes, healing, retention) that a broken disk degrades alone."""

import glob
import json
import logging
import os
import sqlite3
import time

import pytest
from itsdangerous import URLSafeTimedSerializer

from training.core.events_file import SCHEMA
from webapp.events import rate_limit, tickets

from tests.event_helpers import stored, writer_of

VISITOR = "a1b2c3d4e5f6g7h8-_x"
OTHER = "Z" * 16


def similar(client, mid, **params):
    response = client.get(f"/api/models/{mid}/similar", query_string={"k": 5, **params})
    assert response.status_code == 200
    return response.get_json()


def click(ticket, position, visitor=VISITOR, **extra):
    return {"visitor": visitor, "type": "click", "ticket": ticket, "position": position, **extra}


def test_an_event_is_stored_without_address_agent_or_cookie(app, client, demo_model):
    body = similar(client, demo_model.mids[0])
    card = body["similar"][3]
    response = client.post(
        "/api/events",
        json=click(body["ticket"], 3, mid=card["mid"]),
        headers={"User-Agent": "Secret-Agent/7", "Cookie": "session=cookie-value"},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    assert response.status_code == 204 and response.data == b""
    assert client.post("/api/events", json={"visitor": VISITOR, "type": "heart", "mid": "m1"})
    rows = stored(app)
    sha = app.extensions["sketchrec.model_store"].get().sha256
    assert rows[0] | {"at": None} == {
        "at": None,
        "visitor": VISITOR,
        "type": "click",
        "mid": card["mid"],
        "list": "similar",
        "query": demo_model.mids[0],
        "position": 3,
        "model": sha,
        "team": None,
        "active": None,
        "candidate": None,
    }
    assert abs(rows[0]["at"] - time.time()) < 60
    assert rows[1]["type"] == "heart" and rows[1]["mid"] == "m1"
    with sqlite3.connect(app.config["EVENTS_DB"]) as db:
        dump = "\n".join(db.iterdump())
    for secret in ("203.0.113.9", "Secret-Agent", "cookie-value"):
        assert secret not in dump


def test_lists_carry_signed_tickets(app, client, demo_model):
    body = similar(client, demo_model.mids[1])
    recommended = client.post("/api/recommendations", json={"likes": demo_model.mids[:3], "k": 7})
    page = client.get(f"/models/{demo_model.mids[1]}?k=5").get_data(as_text=True)
    with app.app_context():
        sha = app.extensions["sketchrec.model_store"].get().sha256
        assert tickets.read(body["ticket"]) == (
            "similar",
            demo_model.mids[1],
            5,
            (sha,),
            None,
            None,
        )
        listed = tickets.read(recommended.get_json()["ticket"])
        assert listed == ("recommendations", None, 7, (sha,), None, None)
    # The page's list carries its own ticket, and each card its place.
    assert 'class="grid" data-ticket="' in page
    assert all(f'data-position="{p}"' in page for p in range(5))


def test_a_ticket_is_refused_when_forged_or_a_day_old(app, client, demo_model, monkeypatch):
    ticket = similar(client, demo_model.mids[0])["ticket"]
    forged = ticket[:-2] + ("AA" if ticket[-2:] != "AA" else "BB")
    assert client.post("/api/events", json=click(forged, 0, mid="m1")).status_code == 400
    fields = ["similar", demo_model.mids[0], 5, ["0" * 64], None, None]
    other_key = URLSafeTimedSerializer("another key", salt=tickets.SALT).dumps(fields)
    assert client.post("/api/events", json=click(other_key, 0, mid="m1")).status_code == 400
    assert client.post("/api/events", json=click(ticket, 0, mid="m1")).status_code == 204
    later = time.time() + tickets.MAX_AGE + 60
    monkeypatch.setattr(time, "time", lambda: later)
    response = client.post("/api/events", json=click(ticket, 0, mid="m1"))
    assert response.status_code == 400 and "over a day old" in response.get_json()["error"]


def heart_of(**fields):
    return {"visitor": VISITOR, "type": "heart", "mid": "m1", **fields}


# (body, or a function of a real list ticket giving it; what the one-line error says)
BAD_EVENTS = [
    ("not json", "must be a JSON object"),
    (["a list"], "must be a JSON object"),
    ({"type": "heart", "mid": "m1"}, '"visitor" must be 16 to 64'),
    (heart_of(visitor="short"), '"visitor" must be 16 to 64'),
    (heart_of(visitor="a" * 15 + "!"), '"visitor" must be 16 to 64'),
    (heart_of(visitor="a" * 65), '"visitor" must be 16 to 64'),
    (heart_of(type="purchase"), '"type" must be one of'),
    (heart_of(ip="203.0.113.9"), "Unknown field 'ip'"),
    (heart_of(mid=None), '"mid" must be a model id'),
    (heart_of(mid=".."), "cannot be a URL path segment"),
    (heart_of(mid="a\nb"), '"mid" must be a model id'),
    (heart_of(type="unheart", position=1), "not to a unheart"),
    ({"visitor": VISITOR, "type": "impression", "position": 0}, 'needs the "ticket"'),
    (lambda t: {"visitor": VISITOR, "type": "click", "mid": "m1", "ticket": t}, 'needs "position"'),
    (lambda t: click(t, True, mid="m1"), 'needs "position"'),
    (lambda t: click(t, -1, mid="m1"), '"position" must be 0..999'),
    (lambda t: click(t, 5, mid="m1"), "past the list's 5 cards"),
    (lambda t: click(t, 0), '"mid" must be a model id'),
    ("[" * 3000, "must be a JSON object"),  # deeper than the JSON parser goes
]


@pytest.mark.parametrize("body, message", BAD_EVENTS)
def test_a_bad_event_is_a_400_with_one_line(app, client, demo_model, body, message):
    if callable(body):
        body = body(similar(client, demo_model.mids[0])["ticket"])
    if isinstance(body, str):
        response = client.post("/api/events", data=body, content_type="application/json")
    else:
        response = client.post("/api/events", json=body)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert message in error and "\n" not in error
    assert stored(app) == []


def test_a_body_over_4_kb_is_refused_unread(app, client):
    body = json.dumps({"visitor": VISITOR, "type": "heart", "mid": "m" * 5000})
    response = client.post("/api/events", data=body, content_type="application/json")
    assert response.status_code == 413
    assert "at most 4096 bytes" in response.get_json()["error"]
    assert stored(app) == []


def test_a_visitor_over_the_rate_gets_429_and_others_do_not(client):
    heart = {"visitor": VISITOR, "type": "heart", "mid": "m1"}
    statuses = [client.post("/api/events", json=heart).status_code for _ in range(260)]
    first_refusal = statuses.index(429)
    assert rate_limit.BURST <= first_refusal < rate_limit.BURST + 20
    refused = client.post("/api/events", json=heart)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
    assert client.post("/api/events", json=heart | {"visitor": OTHER}).status_code == 204


def test_a_bucket_refills_at_the_sustained_rate():
    rate = rate_limit.VisitorRate(burst=3, per_second=2.0)
    assert [rate.allow("v", now=0.0) for _ in range(4)] == [True, True, True, False]
    assert rate.allow("v", now=0.4) is False  # 0.8 of an event refilled
    assert rate.allow("v", now=0.6) is True
    forgetful = rate_limit.VisitorRate(burst=1, per_second=0.0, max_visitors=2)
    assert forgetful.allow("a", 0) and forgetful.allow("b", 0) and forgetful.allow("c", 0)
    assert forgetful.allow("a", 0)  # the oldest was forgotten: a full bucket again
    assert not forgetful.allow("c", 0)


def heart(client, mid="m1"):
    return client.post("/api/events", json={"visitor": VISITOR, "type": "heart", "mid": mid})


def test_a_damaged_events_file_is_moved_aside_and_rebuilt(make_app, demo_model, tmp_path, caplog):
    path = tmp_path / "events.sqlite"
    path.write_bytes(b"this is not sqlite\n" * 500)
    app = make_app(demo_model.path, EVENTS_DB=str(path))
    with caplog.at_level(logging.WARNING, logger="webapp.events"):
        assert heart(app.test_client()).status_code == 204
        assert [row["mid"] for row in stored(app)] == ["m1"]
    aside = glob.glob(f"{path}.broken-*")
    assert len(aside) == 1 and open(aside[0], "rb").read().startswith(b"this is not sqlite")
    assert any("moved to" in r.getMessage() for r in caplog.records)


def test_a_file_damaged_while_running_is_rebuilt_before_the_next_write(make_app, demo_model):
    app = make_app(demo_model.path)
    client = app.test_client()
    assert heart(client, "first").status_code == 204
    assert len(stored(app)) == 1
    path = app.config["EVENTS_DB"]
    for suffix in ("", "-wal", "-shm"):  # the file and its WAL taken away, garbage put there
        os.replace(path + suffix, f"{path}.gone{suffix}")
    with open(path, "wb") as f:
        f.write(b"garbage " * 4096)
    assert heart(client, "second").status_code == 204
    assert [row["mid"] for row in stored(app)] == ["second"]


def test_a_table_damaged_inside_a_sound_file_is_rebuilt_when_written(
    make_app, demo_model, tmp_path
):
    path = tmp_path / "events.sqlite"
    with sqlite3.connect(path) as db:
        for statement in SCHEMA:
            db.execute(statement)
        rows = [(i, VISITOR, "heart", "m") for i in range(2000)]
        db.executemany("INSERT INTO events (at, visitor, type, mid) VALUES (?, ?, ?, ?)", rows)
        root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'events'").fetchone()[0]
        page = db.execute("PRAGMA page_size").fetchone()[0]
    with open(path, "r+b") as f:  # the header and schema stay sound; the table's root does not
        f.seek((root - 1) * page)
        f.write(b"\xff" * page)
    app = make_app(demo_model.path, EVENTS_DB=str(path))
    assert heart(app.test_client(), "after").status_code == 204
    assert [row["mid"] for row in stored(app)] == ["after"]
    assert len(glob.glob(f"{path}.broken-*")) == 1


def test_an_events_file_that_cannot_be_written_degrades_events_alone(
    make_app, demo_model, tmp_path, caplog
):
    blocked = tmp_path / "events.sqlite"
    blocked.mkdir()  # a folder where the file should be: SQLite cannot open it
    app = make_app(demo_model.path, EVENTS_DB=str(blocked))
    client = app.test_client()
    mid = demo_model.mids[0]
    with caplog.at_level(logging.WARNING, logger="webapp.events"):
        for _ in range(3):
            assert heart(client).status_code == 204
            assert writer_of(app).flush()
    assert client.get(f"/models/{mid}").status_code == 200
    assert client.get(f"/api/models/{mid}/similar").status_code == 200
    dropped = [r for r in caplog.records if "cannot be written" in r.getMessage()]
    assert len(dropped) == 1  # once per failure streak, not once per batch


def test_a_full_queue_answers_503_and_pages_still_serve(make_app, demo_model, tmp_path):
    blocked = tmp_path / "events.sqlite"
    blocked.mkdir()
    app = make_app(demo_model.path, EVENTS_DB=str(blocked))
    writer_of(app).backlog = 0
    client = app.test_client()
    response = heart(client)
    assert response.status_code == 503 and "not being recorded" in response.get_json()["error"]
    assert client.get("/").status_code == 200


def test_events_past_the_retention_limit_are_deleted(make_app, demo_model, tmp_path):
    path = tmp_path / "events.sqlite"
    now = time.time()
    with sqlite3.connect(path) as db:
        for statement in SCHEMA:
            db.execute(statement)
        for days, mid in ((31, "old"), (29, "recent")):
            db.execute(
                "INSERT INTO events (at, visitor, type, mid) VALUES (?, ?, 'heart', ?)",
                (now - days * 86400, VISITOR, mid),
            )
    app = make_app(demo_model.path, EVENTS_DB=str(path), EVENTS_DAYS=30)
    assert heart(app.test_client(), "new").status_code == 204
    assert sorted(row["mid"] for row in stored(app)) == ["new", "recent"]
