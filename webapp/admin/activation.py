"""Which model serves: activate a candidate atomically, roll back to the previous one.

The active model is one file (``SKETCHREC_MODEL_PATH``); the one it replaced
is kept beside it as ``<name>.previous.npz``. Every swap copies into a
temporary file in the same folder and ``os.replace``s it, so a web worker
either sees the old file or the new one, and notices by its stat change.
A lock file serialises swaps between workers.
"""

import contextlib
import fcntl
import os
import shutil

from training.artifact import load_model
from training.atomic import atomic_path


def previous_path(active_path):
    """Where the model that was active before the last swap is kept."""
    root, _ = os.path.splitext(active_path)
    return root + ".previous.npz"


@contextlib.contextmanager
def _swap_lock(active_path):
    folder = os.path.dirname(os.path.abspath(active_path))
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, ".activation.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _copy_into(source, target):
    with atomic_path(target, suffix=".npz") as tmp:
        shutil.copyfile(source, tmp)


def activate(active_path, candidate_path):
    """Make ``candidate_path`` the active model; the current one becomes the previous.

    The candidate is loaded and checked first: a bad file raises
    :class:`training.errors.BadInput` and changes nothing.
    """
    load_model(candidate_path)
    with _swap_lock(active_path):
        if os.path.exists(active_path):
            _copy_into(active_path, previous_path(active_path))
        _copy_into(candidate_path, active_path)


def can_roll_back(active_path):
    """True when a previous model is kept."""
    return os.path.exists(previous_path(active_path))


def roll_back(active_path):
    """Swap the active and the previous model (rolling back twice returns to where it was)."""
    previous = previous_path(active_path)
    with _swap_lock(active_path):
        if not os.path.exists(previous):
            raise FileNotFoundError(f"{previous}: no previous model to roll back to")
        with atomic_path(previous, suffix=".npz") as keep:
            shutil.copyfile(active_path, keep)
            _copy_into(previous, active_path)
