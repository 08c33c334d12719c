"""The jobs folder (``instance/jobs``): per job, its state, its log and its search results.

``<id>.json`` is the state (written atomically), ``<id>.log`` what its
commands printed and ``<id>.results.json`` the grid search's RESULTS.json,
which carries the learning curves.

A job is ``queued``, ``running``, then ``succeeded``, ``failed`` or
``cancelled``. Jobs run in the order they were submitted: each gets the next
``seq`` under the folder's submission lock, which also caps how many may wait.
"""

import contextlib
import fcntl
import json
import os
import re
import secrets
from datetime import UTC, datetime
from typing import NamedTuple

from training.core import write_text

from .liveness import job_alive

ACTIVE = ("queued", "running")
# What new_id makes, with room to spare; never a path, never too long for a file name.
ID_PATTERN = re.compile(r"[A-Za-z0-9-]{1,64}")


class QueueFull(Exception):
    """As many jobs as allowed are already waiting."""


class JobPaths(NamedTuple):
    """The files of one job."""

    state: str
    log: str
    results: str


def now():
    """UTC time as ISO 8601, to the millisecond (jobs started within a second stay ordered)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def job_paths(folder, job_id):
    """The :class:`JobPaths` of a job."""
    base = os.path.join(folder, job_id)
    return JobPaths(base + ".json", base + ".log", base + ".results.json")


def new_id():
    """A fresh job id: UTC time (so ids sort by age) and a random suffix."""
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


@contextlib.contextmanager
def submission_lock(folder, max_queued):
    """Hold the folder's submission lock; raise :class:`QueueFull` when ``max_queued`` wait.

    :func:`create` is called inside it, so two submissions cannot both take
    the last place nor the same ``seq``.
    """
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, ".submit.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        waiting = sum(job["status"] == "queued" for job in all_jobs(folder))
        if waiting >= max_queued:
            raise QueueFull(
                f"{waiting} jobs are already waiting (at most {max_queued}); "
                "wait for one to finish or cancel one"
            )
        yield


def create(
    folder,
    job_id,
    steps,
    candidate,
    active,
    activate_when_done,
    description,
    ticket=None,
):
    """Write a queued job, next in line, and return it (call inside :func:`submission_lock`).

    ``steps`` are argument lists for ``python -m training``; ``candidate`` is
    the model file the last step writes; ``ticket`` is the
    activation ticket taken at submission (see :mod:`webapp.admin.activation`).
    """
    os.makedirs(folder, exist_ok=True)
    job = {
        "id": job_id,
        "seq": 1 + max((j.get("seq", 0) for j in all_jobs(folder)), default=0),
        "status": "queued",
        "description": description,
        "created_at": now(),
        "started_at": None,
        "finished_at": None,
        "seconds": None,
        "steps": steps,
        "candidate": candidate,
        "active": active,
        "activate_when_done": bool(activate_when_done),
        "activated": False,
        "ticket": ticket,
        "pid": None,
        "child_pid": None,
        "error": None,
        "progress": {"fraction": 0.0, "message": "queued"},
        "log_tail": [],
    }
    save(folder, job)
    return job


def read(folder, job_id):
    """The job's state file as written. Raises ``FileNotFoundError`` for an unknown id."""
    if not valid_id(job_id):
        raise FileNotFoundError(job_id)
    with open(job_paths(folder, job_id).state, encoding="utf-8") as f:
        return json.load(f)


def load(folder, job_id):
    """The job's state; a queued or running job of which nothing runs any more reads as failed.

    Raises ``FileNotFoundError`` for an unknown id.
    """
    job = read(folder, job_id)
    if job["status"] in ACTIVE and not job_alive(job):
        job.update(status="failed", error=job["error"] or "the job's process died")
    return job


def first_in_line(folder, job):
    """True when no earlier-submitted job is still queued or running."""
    return not any(
        other["status"] in ACTIVE and other["seq"] < job["seq"] for other in all_jobs(folder)
    )


def all_jobs(folder):
    """Every job, the last submitted first."""
    if not os.path.isdir(folder):
        return []
    ids = [
        n[:-5]
        for n in os.listdir(folder)
        if n.endswith(".json") and not n.endswith(".results.json")
    ]
    jobs = [load(folder, i) for i in ids]
    # Jobs written before ``seq`` existed count as 0 (and are all finished); ids sort by time.
    return sorted(jobs, key=lambda job: (job.get("seq", 0), job["id"]), reverse=True)


def save(folder, job):
    """Write the job's state file atomically."""
    write_text(job_paths(folder, job["id"]).state, json.dumps(job, indent=1))


def valid_id(job_id):
    """True for ids :func:`new_id` can make: 1 to 64 ASCII letters, digits and dashes."""
    return ID_PATTERN.fullmatch(job_id) is not None
