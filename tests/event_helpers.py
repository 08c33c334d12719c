"""For the events and trial tests: what the app's events writer has written, and a
candidate model to put on trial."""

import os

import numpy as np

from training.core.artifact import load_model, write_model
from training.core.events_file import COLUMNS, read_rows
from webapp.events import current_writer


def writer_of(app):
    with app.app_context():
        return current_writer()


def stored(app):
    """The events file's rows as dicts, once the writer has written what is queued."""
    assert writer_of(app).flush()
    rows = read_rows(app.config["EVENTS_DB"], "SELECT * FROM events ORDER BY rowid")
    return [dict(zip(COLUMNS, row, strict=True)) for row in rows]


def random_candidate(model_path, path):
    """Write at ``path`` the model at ``model_path`` with random item factors (same models,
    other neighbours); return ``path``."""
    model = load_model(model_path)
    factors = np.random.default_rng(7).standard_normal(model.item_factors.shape)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_model(
        path,
        factors.astype(np.float32),
        model.mids,
        model.names,
        model.likes_indptr,
        model.likes_indices,
        model.meta,
    )
    return path
