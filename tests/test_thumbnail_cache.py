"""The thumbnail cache heals itself: a damaged file is rebuilt, an unwritable one is replaced
by memory, at start-up and while running; thumbnails keep working either way."""

import contextlib
import glob
import logging
import os
import shutil
import sqlite3
import subprocess
import time

import pytest

GARBAGE = b"this is not sqlite\n" * 500


def warnings_of(caplog):
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def resolves(client, mid, seconds=3.0):
    """True when ``mid``'s thumbnail becomes a 302 within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if client.get(f"/thumbnails/{mid}").status_code == 302:
            return True
        time.sleep(0.02)
    return False


@contextlib.contextmanager
def unwritable(path):
    """Make the file at ``path`` unwritable, even for root (chattr +i), for the block."""
    if os.geteuid() == 0:
        if not shutil.which("chattr") or subprocess.run(["chattr", "+i", path]).returncode:
            pytest.skip("cannot make a file immutable here")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", path], check=True)
    else:
        os.chmod(path, 0o444)
        try:
            yield
        finally:
            os.chmod(path, 0o644)


def cache_path(app):
    return app.config["THUMBNAIL_CACHE"]


def test_garbage_at_start_up_is_moved_aside_and_rebuilt(
    make_app, demo_model, sketchfab, tmp_path, caplog
):
    path = tmp_path / "cache" / "sketchfab.sqlite"
    path.parent.mkdir()
    path.write_bytes(GARBAGE)
    client = make_app(demo_model.path).test_client()
    with caplog.at_level(logging.INFO, logger="webapp"):
        assert resolves(client, demo_model.mids[0])
        assert resolves(client, demo_model.mids[1])
    messages = warnings_of(caplog)
    assert len(messages) == 1 and "not a usable SQLite file" in messages[0]
    (aside,) = glob.glob(f"{path}.broken-*")
    assert open(aside, "rb").read() == GARBAGE  # kept for a look, not deleted
    with sqlite3.connect(path) as db:  # requests-cache's table
        assert db.execute("SELECT count(*) FROM responses").fetchone() == (2,)


def test_garbage_while_running_is_moved_aside_and_rebuilt(
    make_app, demo_model, sketchfab, tmp_path, caplog
):
    running = make_app(demo_model.path).test_client()
    assert resolves(running, demo_model.mids[0])
    path = cache_path(running.application)
    with caplog.at_level(logging.INFO, logger="webapp"):
        garbage = tmp_path / "garbage"
        garbage.write_bytes(GARBAGE)
        os.replace(garbage, path)  # as `mv` or a restore from a bad backup would
        for suffix in ("-wal", "-shm"):
            os.remove(path + suffix)
        # The cached image is still read from the file already open; the next write
        # finds a new file at the path, opens it, moves it aside and rebuilds.
        assert running.get(f"/thumbnails/{demo_model.mids[0]}").status_code == 302
        assert resolves(running, demo_model.mids[1])
        assert resolves(running, demo_model.mids[2])
        restarted = make_app(demo_model.path).test_client()
        for mid in demo_model.mids[1:3]:  # no answer was written to the old file
            assert restarted.get(f"/thumbnails/{mid}").status_code == 302
    assert sketchfab.hits == demo_model.mids[:3]
    messages = warnings_of(caplog)
    assert len(messages) == 1 and "not a usable SQLite file" in messages[0]
    (aside,) = glob.glob(f"{path}.broken-*")
    assert open(aside, "rb").read() == GARBAGE


def test_an_unwritable_file_at_start_up_falls_back_to_memory(
    make_app, demo_model, sketchfab, caplog
):
    earlier = make_app(demo_model.path)  # the cache file of an earlier run, tables and all
    assert resolves(earlier.test_client(), demo_model.mids[2])
    sketchfab.hits.clear()
    with unwritable(cache_path(earlier)), caplog.at_level(logging.INFO, logger="webapp"):
        client = make_app(demo_model.path).test_client()
        first, second = demo_model.mids[:2]
        assert resolves(client, first)
        assert client.get(f"/thumbnails/{first}").status_code == 302
        # Holds are kept in memory too: a failing API is not asked again at once.
        sketchfab.default = "500"
        assert client.get(f"/thumbnails/{second}").cache_control.max_age == 5
        time.sleep(0.3)
        assert client.get(f"/thumbnails/{second}").cache_control.max_age == 60
        assert sketchfab.hits == [first, second]
    messages = warnings_of(caplog)
    assert sum("cannot be written" in m for m in messages) == 1
    assert len(messages) == 2  # and the API's back-off


def test_a_file_that_becomes_unwritable_while_running_holds(
    make_app, demo_model, sketchfab, caplog
):
    running = make_app(demo_model.path).test_client()
    assert resolves(running, demo_model.mids[0])
    with unwritable(cache_path(running.application)), caplog.at_level(logging.INFO, "webapp"):
        assert resolves(running, demo_model.mids[1])  # the open file still takes writes
        other = make_app(demo_model.path).test_client()  # a worker started now cannot write
        assert resolves(other, demo_model.mids[2])
        assert other.get(f"/thumbnails/{demo_model.mids[2]}").status_code == 302  # from memory
        assert sketchfab.hits == demo_model.mids[:3]
    messages = warnings_of(caplog)
    assert len(messages) == 1 and "cannot be written" in messages[0]


def test_a_folder_that_cannot_be_made_falls_back_to_memory(
    make_app, demo_model, sketchfab, tmp_path, caplog
):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    client = make_app(demo_model.path, THUMBNAIL_CACHE=str(blocker / "cache.sqlite")).test_client()
    with caplog.at_level(logging.INFO, logger="webapp"):
        assert resolves(client, demo_model.mids[0])
    assert len(warnings_of(caplog)) == 1
