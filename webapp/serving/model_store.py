"""The active model, loaded once per process and reloaded when its file changes.

Every request pays one ``os.stat`` of the artifact. When the file's identity
(inode, size, mtime) changes, the new file is read and fully built into a
:class:`Catalog` before it replaces the old one, so a request sees either the
old model or the new one, never half of one. An unreadable new file is logged
and the last good model stays in service; :meth:`ModelStore.problem` says
why, for ``/healthz``. Paths go to the log only, never into an answer.
"""

import hashlib
import io
import logging
import os
import threading

from flask import current_app
from threadpoolctl import threadpool_limits
from werkzeug.exceptions import ServiceUnavailable

from training.artifact import load_model
from training.errors import BadInput

from .catalog import Catalog

log = logging.getLogger(__name__)
EXTENSION = "sketchrec.model_store"


class ModelUnavailable(ServiceUnavailable):
    """No usable model yet (503); the description says why."""


class ModelStore:
    """The artifact at ``path`` as a :class:`Catalog`, kept in step with the file."""

    def __init__(self, path):
        self.path = path
        self._lock = threading.Lock()
        self._catalog = None
        self._signature = None
        # (signature, reason) of the file that failed to load; signature None: no file
        self._failure = None

    def get(self):
        """The current :class:`Catalog`; raise :class:`ModelUnavailable` when there is none."""
        try:
            signature = _signature(os.stat(self.path))
        except OSError as e:
            with self._lock:
                self._fail(None, f"{self.path}: missing ({e.strerror})")
                self._signature = None  # whatever file comes back is read again
            if self._catalog is not None:
                return self._catalog  # the file went away: keep serving what we have
            raise ModelUnavailable("No model is loaded yet.") from None
        if signature != self._signature:
            with self._lock:
                if signature != self._signature:
                    self._reload(signature)
        if self._catalog is None:
            raise ModelUnavailable("The model file cannot be loaded yet.")
        return self._catalog

    def problem(self):
        """Why the file on disk is not what serves (missing, broken), or None; no paths."""
        failure = self._failure
        return failure[1] if failure and self._catalog is not None else None

    def _fail(self, signature, message):
        """Log (once per file) why the file does not serve; keep the reason without the path."""
        if self._failure and self._failure[0] == signature:
            return
        self._failure = (signature, message.replace(self.path, "the model file"))
        log.error("%s", message)

    def _reload(self, signature):
        if self._failure and self._failure[0] == signature:
            return  # the same broken file: do not parse it again on every request
        try:
            catalog, signature = _load(self.path)
        except Exception as e:  # noqa: BLE001 - whatever is wrong with the new file, keep serving
            if not isinstance(e, (OSError, BadInput)):
                log.exception("unexpected error loading %s", self.path)
            self._fail(signature, str(e) if isinstance(e, BadInput) else f"{self.path}: {e}")
            if self._catalog is not None:
                self._signature = signature  # keep the old model until the file changes again
            return
        self._catalog, self._signature, self._failure = catalog, signature, None
        log.info(
            "loaded %s: %d models, %d factors, sha256 %s",
            self.path,
            len(catalog),
            catalog.factors,
            catalog.sha256[:12],
        )


def _signature(stat):
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)


def _load(path):
    """Read the file once, so the digest, the signature and the arrays agree."""
    with open(path, "rb") as f:
        signature = _signature(os.fstat(f.fileno()))
        data = f.read()
    model = load_model(_NamedBytes(data, path))
    return Catalog.from_artifact(model, hashlib.sha256(data).hexdigest()), signature


class _NamedBytes(io.BytesIO):
    """In-memory file whose ``str`` is its path, so ``load_model``'s errors name the file."""

    def __init__(self, data, path):
        super().__init__(data)
        self.path = path

    def __str__(self):
        return self.path


def init_app(app):
    """Attach a :class:`ModelStore` for ``MODEL_PATH`` and try a first load (logged, not fatal).

    Also gives BLAS one thread for the whole process: request threads run
    queries side by side, and BLAS threads of their own would fight them
    (4 concurrent queries ran 7x slower on 2 cores).
    """
    threadpool_limits(limits=1, user_api="blas")
    store = ModelStore(app.config["MODEL_PATH"])
    app.extensions[EXTENSION] = store
    try:
        store.get()
    except ModelUnavailable:
        app.logger.warning("No model at %s yet: pages answer 503 until there is one.", store.path)


def current_catalog():
    """The active :class:`Catalog` of the current app; 503 when there is none."""
    return current_app.extensions[EXTENSION].get()


def model_problem():
    """Why the model file on disk is not the one serving, or None (see ``ModelStore.problem``)."""
    return current_app.extensions[EXTENSION].problem()
