"""A real Sketchrec server for the admin tests: nginx and gunicorn as `make serve` runs them,
on 127.0.0.1.

Configured only through ``SKETCHREC_*`` variables, as an operator would, with
its model, data, jobs and secret key in a temporary folder.
"""

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

import requests
from werkzeug.security import generate_password_hash

from webapp.admin.jobs import store

PASSWORD = "correct horse battery staple"
GUNICORN_CONF = os.path.join(
    os.path.dirname(os.path.dirname(__file__)), "webapp", "gunicorn_conf.py"
)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AdminServer:
    """gunicorn serving ``webapp:create_app()``: 2 workers x 4 threads behind nginx, the
    production config (``FRONT=none`` in ``env``: gunicorn alone).

    ``url``, ``model_path``, ``data_dir``, ``log_path`` (gunicorn's and the app's
    log, and the access log with ``access_log``), ``session()``; ``env`` adds or
    replaces ``SKETCHREC_*`` variables.
    """

    def __init__(self, folder, model, likes, max_upload=1_000_000, env=None, access_log=False):
        self.folder = folder
        self.model_path = os.path.join(folder, "models", "active.npz")
        self.data_dir = os.path.join(folder, "data")
        os.makedirs(os.path.dirname(self.model_path))
        os.makedirs(self.data_dir)
        shutil.copyfile(model, self.model_path)
        shutil.copyfile(likes, os.path.join(self.data_dir, "likes.psv"))
        self.tmp_dir = os.path.join(folder, "tmp")  # the server's TMPDIR: spooled uploads land here
        os.makedirs(self.tmp_dir)
        self.log_path = os.path.join(folder, "server.log")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "SKETCHREC_MODEL_PATH": self.model_path,
            "SKETCHREC_DATA_DIR": self.data_dir,
            "SKETCHREC_JOBS_DIR": os.path.join(folder, "jobs"),
            "SKETCHREC_THUMBNAIL_CACHE": os.path.join(folder, "cache.sqlite"),
            "SKETCHREC_EVENTS_DB": os.path.join(folder, "events.sqlite"),
            "SKETCHREC_OFFLINE": "true",
            "SKETCHREC_SECRET_KEY": "test-secret-" + os.path.basename(folder),
            "SKETCHREC_ADMIN_PASSWORD_HASH": generate_password_hash(PASSWORD),
            "SKETCHREC_MAX_CONTENT_LENGTH": str(max_upload),
            "TMPDIR": self.tmp_dir,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "RUN_DIR": os.path.join(folder, "run"),  # nginx's files, the socket to gunicorn
            **(env or {}),
        }
        self.access_log = "-" if access_log else os.devnull
        self.process = None

    def start(self):
        with open(self.log_path, "ab") as log:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "--config",
                    GUNICORN_CONF,
                    "--log-level",
                    "warning",
                    "--access-logfile",
                    self.access_log,
                    "webapp:create_app()",
                ],
                env={"WORKERS": "2", "THREADS": "4", **self.env},
                start_new_session=True,
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/healthz", timeout=5).status_code == 200:
                    return self
            except requests.RequestException:  # not listening yet, or still booting
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not come up; see {self.log_path}")

    def log(self):
        """What the server has logged so far."""
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def stop(self):
        """Stop gunicorn, and any job a failed test left running (jobs have their own sessions)."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        jobs_dir = self.env["SKETCHREC_JOBS_DIR"]
        for job in store.all_jobs(jobs_dir) if os.path.isdir(jobs_dir) else []:
            if job["status"] in store.ACTIVE and job["pid"]:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(job["pid"], signal.SIGKILL)

    def session(self, password=PASSWORD):
        """A requests session logged in as admin (basic auth), keeping the session cookie."""
        s = requests.Session()
        s.auth = ("admin", password)
        return s


def csrf_token(session, url):
    """The CSRF token of the admin page's forms."""
    page = session.get(url + "/admin", timeout=10)
    page.raise_for_status()
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def post(session, server, path, data=None, **kwargs):
    """POST a form to ``server`` with the admin page's CSRF token; no redirects followed."""
    token = csrf_token(session, server.url)
    return session.post(
        server.url + path,
        data={"csrf_token": token, **(data or {})},
        allow_redirects=False,
        timeout=30,
        **kwargs,
    )


def wait_for(server, session, job_id, until, timeout=90):
    """Poll the job's JSON until ``until(job)``; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = session.get(f"{server.url}/admin/jobs/{job_id}.json", timeout=10).json()["job"]
        if until(job):
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} still {job['status']}: {job}")


def start_job(server, session, **form):
    """Start a retrain on ``likes.psv`` (activate when done); return its job id."""
    response = post(
        session, server, "/admin/jobs", {"likes": "likes.psv", "activate": "on", **form}
    )
    assert response.status_code == 303, response.text
    return response.headers["Location"].rsplit("/", 1)[1]


def health(server):
    """The server's ``/healthz`` JSON."""
    return requests.get(server.url + "/healthz", timeout=10).json()


def served_sha(server, sha256, timeout=120):
    """Wait until 8 answers in a row come from the model ``sha256`` (every worker loads a new
    file in the background, so it serves the old one for a moment); True when they do.

    The timeout is long because a load may first build the serving folder in a child
    process, which a loaded shared machine can slow tenfold; a quick load returns early."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(health(server)["model"]["sha256"] == sha256 for _ in range(8)):
            return True
        time.sleep(0.1)
    return False


def similar(server, mid):
    """The mids of ``mid``'s similar list, or None when the API does not answer 200."""
    response = requests.get(f"{server.url}/api/models/{mid}/similar?k=10", timeout=10)
    return [s["mid"] for s in response.json()["similar"]] if response.status_code == 200 else None
