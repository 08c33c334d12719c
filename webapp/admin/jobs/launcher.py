"""Start a job's supervisor process; cancel a job."""

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time

from . import store
from .liveness import job_alive

CANCEL_GRACE_SECONDS = 5  # after SIGTERM, before SIGKILL


def start(folder, job_id):
    """Start the job's supervisor in a new session (its pid is the job's process group).

    The pid is recorded at once, so Cancel can reach a job that is still
    starting; a thread reaps the process when it ends.
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "webapp.admin.jobs.supervisor", os.path.abspath(folder), job_id],
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    job = store.read(folder, job_id)
    job["pid"] = process.pid
    store.save(folder, job)  # the supervisor writes nothing before its turn comes
    threading.Thread(target=process.wait, daemon=True).start()
    return process


def cancel(folder, job_id):
    """Stop a queued or running job and everything it started; True if there was one.

    SIGTERM to its process group (the supervisor records "cancelled"), SIGKILL
    after a grace period. When nothing of the job was left to record it, the
    state is written here.
    """
    job = store.read(folder, job_id)
    if job["status"] not in store.ACTIVE or job["pid"] is None or not job_alive(job):
        return False
    for signum in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(job["pid"], signum)
        deadline = time.monotonic() + CANCEL_GRACE_SECONDS
        while job_alive(job) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not job_alive(job):
            break
    job = store.read(folder, job_id)
    if job["status"] in store.ACTIVE:  # killed before it could say so
        job.update(status="cancelled", finished_at=store.now())
        store.save(folder, job)
    return True
