"""Run one queued job to its end: ``python -m webapp.admin.jobs.supervisor FOLDER ID``.

The supervisor waits for the jobs folder's lock (one job at a time), runs each
``python -m training`` step as a child with its output in the job's log, keeps
the job's state current and activates the candidate model when asked.
"""

import fcntl
import os
import signal
import subprocess
import sys
import time

from training.results import configurations_done

from .. import activation
from . import store

POLL_SECONDS = 0.3
LOG_TAIL_LINES = 20


class Cancelled(Exception):
    """The job's session was sent SIGTERM."""


def supervise(folder, job_id):
    """Run a queued job to the end, recording how it ended in its state file."""
    job = store.load(folder, job_id)
    job["pid"] = os.getpid()
    store.save(folder, job)
    signal.signal(signal.SIGTERM, _raise_cancelled)
    with open(os.path.join(folder, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        job.update(status="running", started_at=store.now())
        store.save(folder, job)
        started = time.monotonic()
        try:
            _run_steps(folder, job)
            if job["activate_when_done"]:
                activation.activate(job["active"], job["candidate"])
                job["activated"] = True
            job.update(status="succeeded", progress={"fraction": 1.0, "message": "done"})
        except Cancelled:
            job.update(status="failed", error="cancelled")
        except Exception as e:  # the job's state must say why it stopped, whatever it was
            job.update(status="failed", error=str(e) or type(e).__name__)
        finally:
            job.update(
                finished_at=store.now(),
                seconds=round(time.monotonic() - started, 2),
                log_tail=log_tail(store.job_paths(folder, job_id).log),
            )
            store.save(folder, job)


def _raise_cancelled(signum, frame):
    raise Cancelled()


def _run_steps(folder, job):
    paths = store.job_paths(folder, job["id"])
    for index, argv in enumerate(job["steps"]):
        with open(paths.log, "a", encoding="utf-8") as log:
            log.write(f"$ python -m training {' '.join(argv)}\n")
            log.flush()
            child = subprocess.Popen(
                [sys.executable, "-m", "training", *argv],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        job["child_pid"] = child.pid
        try:
            while child.poll() is None:
                _update_progress(folder, job, index, argv)
                time.sleep(POLL_SECONDS)
        finally:
            if child.poll() is None:
                child.terminate()
                child.wait()
        if child.returncode != 0:
            raise RuntimeError(_failure(child.returncode, paths.log))
    job["child_pid"] = None


def _update_progress(folder, job, index, argv):
    paths = store.job_paths(folder, job["id"])
    share, message = 0.0, argv[0]
    if argv[0] == "search":
        done = configurations_done(paths.results)
        share = done / max(job["grid_size"], 1)
        message = f"search: {done}/{job['grid_size']} configurations"
    steps = len(job["steps"])
    job["progress"] = {
        "fraction": round((index + share) / steps, 4),
        "message": f"step {index + 1}/{steps}, {message}",
    }
    job["log_tail"] = log_tail(paths.log)
    store.save(folder, job)


def _failure(returncode, log_path):
    if returncode < 0:
        return f"killed by signal {-returncode}"
    tail = log_tail(log_path)
    return tail[-1] if tail else f"exit status {returncode}"


def log_tail(log_path, lines=LOG_TAIL_LINES):
    """The last ``lines`` lines of a job's log, progress-bar carriage returns folded."""
    try:
        with open(log_path, "rb") as f:
            f.seek(max(0, os.path.getsize(log_path) - 8192))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return []
    rows = [line.rsplit("\r", 1)[-1] for line in text.splitlines()]
    return [r for r in rows if r.strip()][-lines:]


if __name__ == "__main__":
    supervise(sys.argv[1], sys.argv[2])
