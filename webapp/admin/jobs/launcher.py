"""Start a job's supervisor process; cancel a job."""

import contextlib
import os
import signal
import subprocess
import sys
import threading

from . import store


def start(folder, job_id):
    """Start the job's supervisor in a new session; reap it in a thread when it ends."""
    process = subprocess.Popen(
        [sys.executable, "-m", "webapp.admin.jobs.supervisor", os.path.abspath(folder), job_id],
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    threading.Thread(target=process.wait, daemon=True).start()
    return process


def cancel(folder, job_id):
    """Stop a queued or running job and its children (SIGTERM to its session)."""
    job = store.load(folder, job_id)
    if job["status"] in store.ACTIVE and job["pid"]:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(job["pid"], signal.SIGTERM)
