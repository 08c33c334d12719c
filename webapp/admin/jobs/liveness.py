"""Whether a job's supervisor process still runs (psutil, so no ``/proc`` parsing here)."""

from datetime import UTC, datetime

import psutil

START_GRACE_SECONDS = 30  # a queued job's supervisor may take this long to record its pid


def supervisor_alive(job):
    """True while the job's supervisor runs, or while a fresh job waits for it to start.

    A zombie is dead, and a reused pid runs some other command line (one
    without the job's id).
    """
    if job["pid"] is None:
        created = datetime.fromisoformat(job["created_at"])
        return (datetime.now(UTC) - created).total_seconds() < START_GRACE_SECONDS
    try:
        process = psutil.Process(job["pid"])
        return process.status() != psutil.STATUS_ZOMBIE and job["id"] in process.cmdline()
    except psutil.Error:
        return False
