"""nginx in front of gunicorn for ``make serve``: started and stopped by gunicorn's master.

gunicorn's threaded workers read a request on the thread that will answer it,
so a client that sends its headers or body slowly holds that thread, and a few
such clients hold them all. nginx reads each request whole on its event loop
(closing connections that stall, ``webapp/nginx.conf``) and hands gunicorn only
complete ones, over a Unix socket in the run folder. It listens on the public
address, adds the app's security headers to the answers it makes itself, and
dies with the gunicorn master.
"""

import os
import shutil
import signal
import socket
import subprocess
import time

from flask import Flask

from . import PROJECT_DIR, config
from .api.routes import MAX_BODY
from .child_processes import die_with
from .security_headers import response_headers

TEMPLATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "nginx.conf")
SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])
START_SECONDS = 10.0


def socket_path(run_dir):
    """The Unix socket gunicorn listens on and nginx forwards to."""
    return os.path.join(run_dir, "gunicorn.sock")


def render(listen, run_dir, app_config):
    """The nginx configuration (text) for ``listen`` (``host:port``) and ``run_dir``, with the
    upload limits and security headers of ``app_config`` (the app's configuration)."""
    values = {
        "LISTEN": listen,
        "RUN_DIR": run_dir,
        "SOCKET": socket_path(run_dir),
        "MAX_UPLOAD": str(app_config["MAX_CONTENT_LENGTH"]),
        "MAX_JSON": str(MAX_BODY),
    }
    for name, value in response_headers(app_config).items():
        values[name.upper().replace("-", "_")] = value
    text = open(TEMPLATE, encoding="utf-8").read()
    for name, value in values.items():
        text = text.replace(f"@{name}@", value)
    return text


def app_config():
    """The app's configuration as ``create_app`` reads it (``SKETCHREC_*``), without the app."""
    app = Flask(__name__, instance_path=os.path.join(PROJECT_DIR, "instance"))
    config.configure(app)
    return app.config


def start(listen, run_dir):
    """Start nginx on ``listen`` in front of :func:`socket_path`; return its process once it
    accepts connections. RuntimeError (with nginx's message) if it cannot start."""
    nginx = shutil.which("nginx", path=SEARCH_PATH)
    if nginx is None:
        raise RuntimeError(
            "nginx is not installed (Debian: apt-get install nginx-light, or `make nginx`); "
            "FRONT=none serves with gunicorn alone"
        )
    os.makedirs(run_dir, exist_ok=True)
    conf = os.path.join(run_dir, "nginx.conf")
    with open(conf, "w", encoding="utf-8") as f:
        f.write(render(listen, run_dir, app_config()))
    process = subprocess.Popen(
        [nginx, "-p", run_dir, "-c", conf, "-e", "stderr", "-g", "daemon off;"],
        preexec_fn=die_with(os.getpid()),
    )
    deadline = time.monotonic() + START_SECONDS
    while process.poll() is None and time.monotonic() < deadline:
        if _accepts(listen):
            return process
        time.sleep(0.05)
    stop(process)
    raise RuntimeError(f"nginx did not start on {listen} (its error is above)")


def _accepts(listen):
    host, _, port = listen.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=1):
            return True
    except OSError:
        return False


def stop(process, seconds=10.0):
    """Let nginx finish what it is sending (SIGQUIT), SIGKILL after ``seconds``."""
    if process.poll() is None:
        process.send_signal(signal.SIGQUIT)
        try:
            process.wait(seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
