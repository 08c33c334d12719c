"""Retrain jobs: one process per job, one at a time, state on disk as JSON.

A jobs folder (``instance/jobs``) holds, per job, ``<id>.json`` (the state),
``<id>.log`` (what its commands printed) and ``<id>.results.json`` (the grid
search, which carries the learning curves). The web app writes a queued job
and starts its supervisor, ``python -m webapp.jobs FOLDER ID``, in a new
session. The supervisor waits for the folder's lock (one job at a time), runs
each ``python -m training`` step as a child, keeps the state current and
activates the candidate model when asked. Every web worker, and a restarted
server, reads the same files; a job whose supervisor died reads as failed.
"""

import contextlib
import fcntl
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone

from training.atomic import write_text

from . import activation

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ACTIVE = ("queued", "running")
POLL_SECONDS = 0.3
START_GRACE_SECONDS = 30


def now():
    """UTC time as ISO 8601, to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def paths(folder, job_id):
    """``(state, log, results)`` file paths of a job."""
    base = os.path.join(folder, job_id)
    return base + ".json", base + ".log", base + ".results.json"


def new_id():
    """A fresh job id: UTC time (so ids sort by age) and a random suffix."""
    return f"{datetime.now(timezone.utc):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def create(folder, job_id, steps, candidate, active, activate_when_done, description, grid_size=1):
    """Write a queued job and return it.

    ``steps`` are argument lists for ``python -m training``; ``candidate`` is
    the model file the last step writes; ``grid_size`` is the number of
    configurations the search step runs (for progress).
    """
    os.makedirs(folder, exist_ok=True)
    job = {
        "id": job_id, "status": "queued", "description": description, "created_at": now(),
        "started_at": None, "finished_at": None, "seconds": None,
        "steps": steps, "grid_size": grid_size, "candidate": candidate, "active": active,
        "activate_when_done": bool(activate_when_done),
        "activated": False, "pid": None, "child_pid": None, "error": None,
        "progress": {"fraction": 0.0, "message": "queued"}, "log_tail": [],
    }
    save(folder, job)
    return job


def start(folder, job_id):
    """Start the job's supervisor in a new session; reap it in a thread when it ends."""
    process = subprocess.Popen(
        [sys.executable, "-m", "webapp.jobs", os.path.abspath(folder), job_id],
        cwd=PROJECT_ROOT, start_new_session=True,
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    threading.Thread(target=process.wait, daemon=True).start()
    return process


def load(folder, job_id):
    """The job's state; a queued or running job whose process is gone reads as failed.

    Raises ``FileNotFoundError`` for an unknown id.
    """
    if not _valid_id(job_id):
        raise FileNotFoundError(job_id)
    with open(paths(folder, job_id)[0], encoding="utf-8") as f:
        job = json.load(f)
    if job["status"] in ACTIVE and not _supervisor_alive(job):
        job.update(status="failed", error=job["error"] or "the job's process died")
    return job


def all_jobs(folder):
    """Every job, newest first."""
    if not os.path.isdir(folder):
        return []
    ids = sorted((n[:-5] for n in os.listdir(folder)
                  if n.endswith(".json") and not n.endswith(".results.json")), reverse=True)
    return [load(folder, i) for i in ids]


def cancel(folder, job_id):
    """Stop a queued or running job and its children (SIGTERM to its session)."""
    job = load(folder, job_id)
    if job["status"] in ACTIVE and job["pid"]:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(job["pid"], signal.SIGTERM)


def _valid_id(job_id):
    return bool(job_id) and all(c.isalnum() or c == "-" for c in job_id)


def save(folder, job):
    """Write the job's state file atomically."""
    write_text(paths(folder, job["id"])[0], json.dumps(job, indent=1))


def _supervisor_alive(job):
    if job["pid"] is None:
        created = datetime.fromisoformat(job["created_at"])
        return (datetime.now(timezone.utc) - created).total_seconds() < START_GRACE_SECONDS
    try:
        with open(f"/proc/{job['pid']}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        with open(f"/proc/{job['pid']}/cmdline", "rb") as f:
            cmdline = f.read()
    except OSError:
        return False
    # A zombie is dead, and a reused pid runs some other command line.
    return state != "Z" and job["id"].encode() in cmdline


class Cancelled(Exception):
    """The job's session was sent SIGTERM."""


def supervise(folder, job_id):
    """Run a queued job to the end (the body of ``python -m webapp.jobs``)."""
    job = load(folder, job_id)
    job["pid"] = os.getpid()
    save(folder, job)
    signal.signal(signal.SIGTERM, _raise_cancelled)
    with open(os.path.join(folder, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        job.update(status="running", started_at=now())
        save(folder, job)
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
            job.update(finished_at=now(), seconds=round(time.monotonic() - started, 2),
                       log_tail=_log_tail(paths(folder, job_id)[1]))
            save(folder, job)


def _raise_cancelled(signum, frame):
    raise Cancelled()


def _run_steps(folder, job):
    log_path = paths(folder, job["id"])[1]
    for index, argv in enumerate(job["steps"]):
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(f"$ python -m training {' '.join(argv)}\n")
            log.flush()
            child = subprocess.Popen([sys.executable, "-m", "training", *argv], cwd=PROJECT_ROOT,
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1"})
        job["child_pid"] = child.pid
        try:
            while child.poll() is None:
                _update_progress(folder, job, index, argv, log_path)
                time.sleep(POLL_SECONDS)
        finally:
            if child.poll() is None:
                child.terminate()
                child.wait()
        if child.returncode != 0:
            raise RuntimeError(_failure(child.returncode, log_path))
    job["child_pid"] = None


def _update_progress(folder, job, index, argv, log_path):
    share, message = 0.0, argv[0]
    if argv[0] == "search":
        done = _configurations_done(paths(folder, job["id"])[2])
        share = done / max(job["grid_size"], 1)
        message = f"search: {done}/{job['grid_size']} configurations"
    job["progress"] = {"fraction": round((index + share) / len(job["steps"]), 4),
                       "message": f"step {index + 1}/{len(job['steps'])}, {message}"}
    job["log_tail"] = _log_tail(log_path)
    save(folder, job)


def _configurations_done(results_path):
    try:
        with open(results_path, encoding="utf-8") as f:
            return len(json.load(f)["curves"])
    except (OSError, ValueError, KeyError):
        return 0


def _failure(returncode, log_path):
    if returncode < 0:
        return f"killed by signal {-returncode}"
    tail = _log_tail(log_path)
    return tail[-1] if tail else f"exit status {returncode}"


def _log_tail(log_path, lines=20):
    """The last ``lines`` lines of the job's log, progress-bar carriage returns folded."""
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
