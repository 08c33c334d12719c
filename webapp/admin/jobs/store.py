"""The jobs folder (``instance/jobs``): per job, its state, its log and its search results.

``<id>.json`` is the state (written atomically), ``<id>.log`` what its
commands printed and ``<id>.results.json`` the grid search's RESULTS.json,
which carries the learning curves.
"""

import json
import os
import secrets
from datetime import UTC, datetime
from typing import NamedTuple

from training.atomic import write_text

from .liveness import supervisor_alive

ACTIVE = ("queued", "running")


class JobPaths(NamedTuple):
    """The files of one job."""

    state: str
    log: str
    results: str


def now():
    """UTC time as ISO 8601, to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def job_paths(folder, job_id):
    """The :class:`JobPaths` of a job."""
    base = os.path.join(folder, job_id)
    return JobPaths(base + ".json", base + ".log", base + ".results.json")


def new_id():
    """A fresh job id: UTC time (so ids sort by age) and a random suffix."""
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def create(folder, job_id, steps, candidate, active, activate_when_done, description, grid_size=1):
    """Write a queued job and return it.

    ``steps`` are argument lists for ``python -m training``; ``candidate`` is
    the model file the last step writes; ``grid_size`` is the number of
    configurations the search step runs (for progress).
    """
    os.makedirs(folder, exist_ok=True)
    job = {
        "id": job_id,
        "status": "queued",
        "description": description,
        "created_at": now(),
        "started_at": None,
        "finished_at": None,
        "seconds": None,
        "steps": steps,
        "grid_size": grid_size,
        "candidate": candidate,
        "active": active,
        "activate_when_done": bool(activate_when_done),
        "activated": False,
        "pid": None,
        "child_pid": None,
        "error": None,
        "progress": {"fraction": 0.0, "message": "queued"},
        "log_tail": [],
    }
    save(folder, job)
    return job


def load(folder, job_id):
    """The job's state; a queued or running job whose process is gone reads as failed.

    Raises ``FileNotFoundError`` for an unknown id.
    """
    if not valid_id(job_id):
        raise FileNotFoundError(job_id)
    with open(job_paths(folder, job_id).state, encoding="utf-8") as f:
        job = json.load(f)
    if job["status"] in ACTIVE and not supervisor_alive(job):
        job.update(status="failed", error=job["error"] or "the job's process died")
    return job


def all_jobs(folder):
    """Every job, newest first."""
    if not os.path.isdir(folder):
        return []
    ids = sorted(
        (
            n[:-5]
            for n in os.listdir(folder)
            if n.endswith(".json") and not n.endswith(".results.json")
        ),
        reverse=True,
    )
    return [load(folder, i) for i in ids]


def save(folder, job):
    """Write the job's state file atomically."""
    write_text(job_paths(folder, job["id"]).state, json.dumps(job, indent=1))


def valid_id(job_id):
    """True for ids :func:`new_id` can make (letters, digits, dashes): never a path."""
    return bool(job_id) and all(c.isalnum() or c == "-" for c in job_id)
