"""Run one queued job to its end: ``python -m webapp.admin.jobs.supervisor FOLDER ID``.

The supervisor waits until every job submitted before its own has ended
(first in, first out), then runs each of its pipeline steps (JSON specs,
:mod:`training.core.steps`) in a child process with its output in the job's
log, keeps the job's state current and activates the candidate model when
asked and still the newest request. A
child is killed by the kernel if its supervisor dies (``PR_SET_PDEATHSIG``),
so nothing of a job outlives it; SIGTERM (Cancel) ends the job as cancelled.
"""

import argparse
import fcntl
import json
import os
import shutil
import signal
import subprocess
import time

from training.core import file_sha256, start_step, step_failure
from training.core.halving import search_progress
from training.core.results import fits_folder

from ...child_processes import die_with
from .. import activation
from . import store

POLL_SECONDS = 0.3
LOG_TAIL_LINES = 20


class Cancelled(Exception):
    """The job's process group was sent SIGTERM."""


def supervise(folder, job_id):
    """Wait for the job's turn, run it, and record how it ended in its state file."""
    signal.signal(signal.SIGTERM, _raise_cancelled)
    job = store.read(folder, job_id)
    job["pid"] = os.getpid()
    started = time.monotonic()
    try:
        with open(os.path.join(folder, ".lock"), "w") as lock:
            _wait_for_turn(folder, job, lock)
            job.update(status="running", started_at=store.now())
            store.save(folder, job)
            started = time.monotonic()
            _run_steps(folder, job)
            # Hashed once here, so the job page can tell "serving" without reading the file.
            job["candidate_sha256"] = file_sha256(job["candidate"])
            job.update(status="succeeded", progress={"fraction": 1.0, "message": "done"})
            if job["activate_when_done"]:
                _activate(job)
    except Cancelled:
        job.update(status="cancelled", progress={**job["progress"], "message": "cancelled"})
    except Exception as e:  # the job's state must say why it stopped, whatever it was
        job.update(status="failed", error=str(e) or type(e).__name__)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the end is being recorded
        # A job's search is never resumed: the fits a stopped one paused would only fill the disk.
        shutil.rmtree(fits_folder(store.job_paths(folder, job_id).results), ignore_errors=True)
        job.update(
            finished_at=store.now(),
            seconds=round(time.monotonic() - started, 2) if job["started_at"] else None,
            log_tail=log_tail(store.job_paths(folder, job_id).log),
        )
        store.save(folder, job)


def _raise_cancelled(signum, frame):
    raise Cancelled()


def _wait_for_turn(folder, job, lock):
    """Return holding ``lock`` once every job submitted earlier has ended."""
    while not store.first_in_line(folder, job):
        time.sleep(POLL_SECONDS)
    fcntl.flock(lock, fcntl.LOCK_EX)  # the job before may still be recording its end


def _activate(job):
    """Activate the candidate unless a newer activation happened since the job was submitted."""
    try:
        activation.activate(job["active"], job["candidate"], ticket=job.get("ticket"))
    except activation.Superseded as e:
        job["progress"]["message"] = f"done; not activated: {e}"
    else:
        job["activated"] = True


def _run_steps(folder, job):
    paths = store.job_paths(folder, job["id"])
    for index, spec in enumerate(job["steps"]):
        with open(paths.log, "a", encoding="utf-8") as log:
            log.write(f"$ {spec['step']} {json.dumps(spec)}\n")
            log.flush()
            child = start_step(
                spec,
                paths.outcome,  # on the child's command line: names the job for liveness
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                preexec_fn=die_with(os.getpid()),
            )
        job["child_pid"] = child.pid
        try:
            while child.poll() is None:
                _update_progress(folder, job, index, spec["step"])
                time.sleep(POLL_SECONDS)
        finally:
            if child.poll() is None:
                child.terminate()
                child.wait()
        failed = step_failure(child.returncode, paths.outcome)
        if failed is not None:
            raise RuntimeError(failed["error"])
    job["child_pid"] = None


def _update_progress(folder, job, index, step):
    paths = store.job_paths(folder, job["id"])
    share, message = 0.0, step
    if step == "search":
        share, where = search_progress(paths.results)
        message = f"search: {where}"
    steps = len(job["steps"])
    job["progress"] = {
        "fraction": round((index + share) / steps, 4),
        "message": f"step {index + 1}/{steps}, {message}",
    }
    job["log_tail"] = log_tail(paths.log)
    store.save(folder, job)


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


def main():
    """``FOLDER ID`` from the command line, as :mod:`webapp.admin.jobs.launcher` passes them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("job_id")
    args = parser.parse_args()
    supervise(args.folder, args.job_id)


if __name__ == "__main__":
    main()
