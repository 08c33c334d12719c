"""The model on trial: the artifact at ``TRIAL_MODEL_PATH``, while that file exists.

Each process keeps it in a :class:`webapp.serving.model_store.ModelStore`, so
a new candidate file is picked up as the active model's is. A candidate
there at start-up is loaded before the first request; one put there later is
first loaded in a background thread: requests get no trial (the active
model's list) until it is ready, instead of waiting for it.
"""

import os
import threading

from flask import current_app

from ..serving.model_store import ModelStore, ModelUnavailable

EXTENSION = "sketchrec.trial"


class TrialModel:
    """The candidate at ``path`` (None while the file is missing, loading or unusable)."""

    def __init__(self, path, ann_threshold):
        self.path = path
        self._store = ModelStore(path, ann_threshold)
        self._lock = threading.Lock()
        self._first_load = None  # the thread of the first load, while it runs
        self._loaded = False

    def get(self, timeout=0.0):
        """The candidate's :class:`Catalog`, or None when no trial runs; waits up to
        ``timeout`` seconds for a first load (0: never waits)."""
        if not os.path.exists(self.path):
            return None
        if not self._loaded:
            loader = self._start_first_load()
            loader.join(timeout)
            if not self._loaded:
                return None
        try:
            return self._store.get()
        except ModelUnavailable:
            return None

    def _start_first_load(self):
        with self._lock:
            if self._first_load is None:
                self._first_load = threading.Thread(target=self._load, name="trial-load")
                self._first_load.daemon = True
                self._first_load.start()
            return self._first_load

    def _load(self):
        try:
            self._store.get()
            self._loaded = True
        except ModelUnavailable:
            pass  # ModelStore logged why; the next request tries again
        finally:
            with self._lock:
                self._first_load = None


def init_app(app):
    """Attach the :class:`TrialModel` of ``TRIAL_MODEL_PATH``; a candidate already there is
    loaded before the first request, as the active model is."""
    model = TrialModel(app.config["TRIAL_MODEL_PATH"], app.config["ANN_THRESHOLD"])
    app.extensions[EXTENSION] = model
    if model.get(timeout=None) is not None:
        app.logger.info("Trial: %s is interleaved with the active model.", model.path)


def current_trial_model():
    """The current app's :class:`TrialModel`."""
    return current_app.extensions[EXTENSION]


def current_candidate(timeout=0.0):
    """The catalog of the candidate on trial, or None (see :meth:`TrialModel.get`)."""
    return current_trial_model().get(timeout)
