"""Hearts become likes: hearts posted over HTTP come out of ``python -m training
export-events`` as likes (net of unhearts) that ``prepare`` reads like any other."""

import requests

from training.core.event_likes import append_likes
from training.core.likes import read_likes, write_likes
from training.core.prepare import prepare
from webapp.admin.likes_files import with_hearts

from tests.event_helpers import writer_of
from tests.live_server import serve
from tests.training_helpers import run_training

ALICE, BOB = "alice-0123456789abcdef", "bob_0123456789abcdef"


def post_hearts(url, visitor, *actions):
    """POST ``("heart"|"unheart", mid)`` actions as ``visitor``; each must answer 204."""
    for kind, mid in actions:
        response = requests.post(
            url + "/api/events", json={"visitor": visitor, "type": kind, "mid": mid}, timeout=10
        )
        assert response.status_code == 204, response.text


def test_hearts_posted_by_visitors_are_exported_as_likes(make_app, demo_model, tmp_path):
    app = make_app(demo_model.path)
    m = demo_model.mids
    for url in serve(app):
        post_hearts(url, ALICE, ("heart", m[0]), ("heart", m[1]), ("unheart", m[0]))
        post_hearts(url, BOB, ("unheart", m[2]), ("heart", m[2]), ("heart", m[1]), ("heart", m[1]))
        post_hearts(url, BOB, ("heart", m[3]), ("unheart", m[3]))
    assert writer_of(app).flush()
    out = tmp_path / "hearts.psv"
    exported = run_training("export-events", app.config["EVENTS_DB"], "--out", out)
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.strip() == f"Wrote 3 likes of 2 visitors to {out}"
    assert out.read_text().splitlines() == [
        "modelname|mid|uid",
        f"|{m[1]}|visitor-{ALICE}",
        f"|{m[1]}|visitor-{BOB}",
        f"|{m[2]}|visitor-{BOB}",
    ]
    likes = read_likes(str(out))
    assert sorted(likes.uids) == [f"visitor-{ALICE}", f"visitor-{BOB}"]


def test_export_events_says_what_is_wrong_in_one_line(tmp_path):
    missing = run_training("export-events", tmp_path / "none.sqlite", "--out", tmp_path / "x.psv")
    assert missing.returncode == 2
    assert missing.stderr == f"error: {tmp_path / 'none.sqlite'}: no events file\n"
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"not sqlite at all\n" * 100)
    broken = run_training("export-events", garbage, "--out", tmp_path / "x.psv")
    assert broken.returncode == 2 and "not an events file" in broken.stderr
    assert len(broken.stderr.splitlines()) == 1
    assert not (tmp_path / "x.psv").exists()


def test_hearts_added_to_a_likes_file_are_likes_for_prepare(make_app, demo_model, tmp_path):
    likes = tmp_path / "likes.psv"
    rows = [(f"model {i}", f"mid{i}", f"user{u}", 2) for u in range(6) for i in range(6)]
    write_likes(str(likes), rows, with_count=True)
    app = make_app(demo_model.path)
    for url in serve(app):
        for visitor in (f"{v}-visitor-0123456789" for v in "abcdef"):
            post_hearts(url, visitor, *(("heart", f"mid{i}") for i in range(5)))
    assert writer_of(app).flush()
    path, added = with_hearts(str(likes), app.config["EVENTS_DB"], str(tmp_path / "jobs"), "job1")
    assert added == 30
    prepared = prepare(read_likes(path))
    # Six visitors with five hearts each pass the thresholds as users of their own.
    assert prepared.after.users == 12 and prepared.after.likes == 6 * 6 + 30
    assert [str(n) for n in prepared.names] == [f"model {i}" for i in range(6)]


def test_appending_to_a_file_without_a_final_newline(tmp_path):
    likes = tmp_path / "likes.psv"
    likes.write_text("modelname|mid|uid\nCube|m1|u1")
    out = tmp_path / "out.psv"
    append_likes(str(likes), [("", "m2", "visitor-x")], str(out))
    assert out.read_text() == "modelname|mid|uid\nCube|m1|u1\n|m2|visitor-x\n"
