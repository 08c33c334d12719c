"""The active model, loaded once per process and reloaded off the request path.

Every request pays one ``os.stat`` of the artifact and one of its serving folder. The first model is
loaded before the first request is answered (there is nothing else to
serve). After that, a changed file identity (inode, size, mtime) starts one
background thread that hashes the file, maps it and its sidecar folder
(building it if missing) into a :class:`Catalog`; requests keep getting the
old catalog until the new one replaces it in one assignment, so a request
sees either model, never half of one, and never waits for a load. The old
catalog is released when its last request finishes (its maps close with it).
An unreadable new file is logged and the last good model stays in service;
:meth:`ModelStore.problem` says why, for ``/healthz``. Paths go to the log
only, never into an answer: the reason names files by role.

The serving folder is held while its catalog lives, and folders of other
contents are pruned after each swap once no process holds them
(:mod:`training.core.serving_files`). A serving folder that vanishes anyway (an
operator's ``rm``) is noticed by the next request, which starts a rebuild;
meanwhile ``/healthz`` says "degraded" and a search that cannot open the
name index answers 503.
"""

import hashlib
import logging
import os
import threading

from flask import current_app
from threadpoolctl import threadpool_limits
from werkzeug.exceptions import ServiceUnavailable

from training.core import ANN_THRESHOLD, BadInput
from training.core.serving_files import prune

from ..errors import by_role
from .catalog import Catalog

log = logging.getLogger(__name__)
EXTENSION = "sketchrec.model_store"


class ModelUnavailable(ServiceUnavailable):
    """No usable model yet (503); the description says why."""


class ModelStore:
    """The artifact at ``path`` as a :class:`Catalog`, kept in step with the file.

    ``ann_threshold``: models from which similar lists come from the
    approximate index.
    """

    def __init__(self, path, ann_threshold=ANN_THRESHOLD):
        self.path = path
        self.ann_threshold = ann_threshold
        self._lock = threading.Lock()
        self._catalog = None
        self._signature = None
        # (signature, reason) of the file that failed to load; signature None: no file
        self._failure = None
        self._loader = None  # the background reload thread while one runs

    def get(self):
        """The current :class:`Catalog`; raise :class:`ModelUnavailable` when there is none."""
        try:
            signature = _signature(os.stat(self.path))
        except OSError as e:
            with self._lock:
                message = f"missing ({e.strerror})"
                self._fail(None, f"{self.path}: {message}", f"the model file: {message}")
                self._signature = None  # whatever file comes back is read again
            if self._catalog is not None:
                return self._catalog  # the file went away: keep serving what we have
            raise ModelUnavailable("No model is loaded yet.") from None
        if signature != self._signature:
            if self._catalog is None:
                with self._lock:
                    if signature != self._signature:
                        self._reload(signature)
            else:
                self._start_reload()
        elif self._folder_gone() and not self._failed(signature):
            self._start_reload()  # the same file: its serving folder is built again
        if self._catalog is None:
            raise ModelUnavailable("The model file cannot be loaded yet.")
        return self._catalog

    def problem(self):
        """Why the file on disk is not what serves (missing, broken), or None; no paths."""
        failure = self._failure
        if failure and self._catalog is not None:
            return failure[1]
        if self._folder_gone():
            return "the model's serving files are missing; rebuilding them"
        return None

    def _folder_gone(self):
        catalog = self._catalog
        return catalog is not None and not os.path.isdir(catalog.folder)

    def _fail(self, signature, message, reason):
        """Log (once per file) ``message``, which names paths; keep ``reason``, which names
        files by role, for :meth:`problem`."""
        if self._failed(signature):
            return
        self._failure = (signature, reason)
        log.error("%s", message)

    def _reason(self, error):
        """What went wrong loading, naming files by role ("the model file"), never by path."""
        folder = os.path.dirname(os.path.abspath(self.path))
        roles = {self.path: "the model file", folder: "the model folder"}
        return by_role(error, roles, other="the model's serving files")

    def _start_reload(self):
        with self._lock:
            if self._loader is not None:
                return  # one load at a time; the next request after it checks the file again
            self._loader = threading.Thread(target=self._reload_current, name="model-reload")
            self._loader.daemon = True
            self._loader.start()

    def _reload_current(self):
        try:
            self._reload(_signature(os.stat(self.path)))
        except OSError as e:
            log.error("Cannot reload the model: %s", e)
        finally:
            with self._lock:
                self._loader = None

    def wait(self, timeout=None):
        """Wait for a background reload to finish (tests, benchmarks); True when none runs."""
        loader = self._loader
        if loader is not None:
            loader.join(timeout)
        return self._loader is None

    def _failed(self, signature):
        """True when the file with ``signature`` already failed to load."""
        failure = self._failure
        return failure is not None and failure[0] == signature

    def _reload(self, signature):
        if self._failed(signature):
            return  # the same broken file: do not parse it again on every request
        try:
            catalog, signature = _load(self.path, self.ann_threshold)
        except Exception as e:  # noqa: BLE001 - whatever is wrong with the new file, keep serving
            if not isinstance(e, (OSError, BadInput)):
                log.exception("unexpected error loading %s", self.path)
            message = str(e) if isinstance(e, BadInput) else f"{self.path}: {e}"
            self._fail(signature, message, self._reason(e))
            if self._catalog is not None:
                self._signature = signature  # keep the old model until the file changes again
            return
        self._catalog, self._signature, self._failure = catalog, signature, None
        # The catalog replaced was released with the assignment, unless a request still has it.
        prune(self.path, keep=catalog.folder)
        log.info(
            "loaded %s: %d models, %d factors, sha256 %s, %s neighbours",
            self.path,
            len(catalog),
            catalog.factors,
            catalog.sha256[:12],
            "exact" if catalog.neighbours.ann is None else "approximate",
        )
        calibration = catalog.neighbours.calibration
        if calibration is not None:
            level = logging.INFO if catalog.neighbours.ann is not None else logging.WARNING
            log.log(level, "model %s: %s", catalog.sha256[:12], calibration.summary())


def _signature(stat):
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)


def _load(path, ann_threshold):
    """Hash the file as it is open, then map it; the signature is the hashed file's.

    Hashing streams the file (the page cache keeps it for the maps that
    follow) instead of holding a copy. Should the file be replaced between
    the hash and the map, its new signature differs and the next request
    loads it again.
    """
    with open(path, "rb") as f:
        signature = _signature(os.fstat(f.fileno()))
        sha256 = hashlib.file_digest(f, "sha256").hexdigest()
    return Catalog.open(path, sha256, ann_threshold), signature


def init_app(app):
    """Attach a :class:`ModelStore` for ``MODEL_PATH`` and try a first load (logged, not fatal).

    Also gives BLAS one thread for the whole process: request threads run
    queries side by side, and BLAS threads of their own would fight them
    (4 concurrent queries ran 7x slower on 2 cores).
    """
    threadpool_limits(limits=1, user_api="blas")
    store = ModelStore(app.config["MODEL_PATH"], app.config["ANN_THRESHOLD"])
    app.extensions[EXTENSION] = store
    try:
        store.get()
    except ModelUnavailable:
        app.logger.warning("No model at %s yet: pages answer 503 until there is one.", store.path)


def current_catalog():
    """The active :class:`Catalog` of the current app; 503 when there is none."""
    return current_store().get()


def current_store():
    """The :class:`ModelStore` of the current app."""
    return current_app.extensions[EXTENSION]


def model_problem():
    """Why the model file on disk is not the one serving, or None (see ``ModelStore.problem``)."""
    return current_store().problem()
