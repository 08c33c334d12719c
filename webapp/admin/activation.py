"""Which model serves: activate a candidate atomically, roll back to the previous one.

The active model is one file (``SKETCHREC_MODEL_PATH``); the one it replaced
is kept beside it as ``<name>.previous.npz``. Every swap copies into a
temporary file in the same folder and ``os.replace``s it, so a web worker
either sees the old file or the new one, and notices by its stat change.
A lock file serialises swaps between workers.

Requests to change the active model are numbered: a retrain job that will
activate takes a ticket when it is submitted; a manual activation or a
rollback takes one when it happens. ``<name>.activation.json`` keeps the
last number issued and the number of the request that made the active model,
and a swap goes ahead only for a newer request than that one, so an old job
that finishes late never replaces what a newer request chose.
"""

import contextlib
import fcntl
import json
import os
import shutil

from training.core import atomic_path, load_model, write_text


class Superseded(Exception):
    """A newer request changed the active model since this one was made."""


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


def _tickets_path(active_path):
    root, _ = os.path.splitext(active_path)
    return root + ".activation.json"


def _read_tickets(active_path):
    """``{"issued": int, "active": int}``; both 0 before the first ticket."""
    try:
        with open(_tickets_path(active_path), encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return {"issued": 0, "active": 0}


def _issue(active_path, tickets):
    tickets["issued"] += 1
    write_text(_tickets_path(active_path), json.dumps(tickets))
    return tickets["issued"]


def take_ticket(active_path):
    """Number a request that will activate a model later (a retrain job, at submission)."""
    with _swap_lock(active_path):
        return _issue(active_path, _read_tickets(active_path))


def copy_into(source, target):
    """Copy ``source`` over ``target`` atomically."""
    with atomic_path(target, suffix=".npz") as tmp:
        shutil.copyfile(source, tmp)


def activate(active_path, candidate_path, ticket=None):
    """Make ``candidate_path`` the active model; the current one becomes the previous.

    The candidate is loaded and checked first: a bad file raises
    :class:`training.core.errors.BadInput` and changes nothing. ``ticket`` is the
    number taken when the activation was requested (:func:`take_ticket`);
    None means now. :class:`Superseded` when a newer request made the active
    model.
    """
    load_model(candidate_path)
    with _swap_lock(active_path):
        tickets = _read_tickets(active_path)
        if ticket is None:
            ticket = _issue(active_path, tickets)
        elif ticket <= tickets["active"]:
            raise Superseded("a newer model was activated after this job was submitted")
        if os.path.exists(active_path):
            copy_into(active_path, previous_path(active_path))
        copy_into(candidate_path, active_path)
        tickets["active"] = ticket
        write_text(_tickets_path(active_path), json.dumps(tickets))


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
            copy_into(previous, active_path)
        tickets = _read_tickets(active_path)
        tickets["active"] = _issue(active_path, tickets)
        write_text(_tickets_path(active_path), json.dumps(tickets))
