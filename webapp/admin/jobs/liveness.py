"""Whether anything of a job still runs (psutil, so no ``/proc`` parsing here)."""

from datetime import UTC, datetime

import psutil

START_GRACE_SECONDS = 30  # a queued job's supervisor may take this long to record its pid


def job_alive(job):
    """True while the job's supervisor or its step's child runs."""
    return supervisor_alive(job) or _runs(job["child_pid"], job["id"])


def supervisor_alive(job):
    """True while the job's supervisor runs, or while a fresh job waits for it to start.

    A zombie is dead, and a reused pid runs some other command line (one
    without the job's id).
    """
    if job["pid"] is None:
        created = datetime.fromisoformat(job["created_at"])
        return (datetime.now(UTC) - created).total_seconds() < START_GRACE_SECONDS
    return _runs(job["pid"], job["id"])


def _runs(pid, job_id):
    """True when ``pid`` is a live process whose command line mentions ``job_id``."""
    if pid is None:
        return False
    try:
        process = psutil.Process(pid)
        return process.status() != psutil.STATUS_ZOMBIE and any(
            job_id in part for part in process.cmdline()
        )
    except psutil.Error:
        return False
