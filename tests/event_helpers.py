"""Reading what the app's events writer has written, for the events tests."""

from training.events_file import COLUMNS, read_rows
from webapp.events import current_writer


def writer_of(app):
    with app.app_context():
        return current_writer()


def stored(app):
    """The events file's rows as dicts, once the writer has written what is queued."""
    assert writer_of(app).flush()
    rows = read_rows(app.config["EVENTS_DB"], "SELECT * FROM events ORDER BY rowid")
    return [dict(zip(COLUMNS, row, strict=True)) for row in rows]
