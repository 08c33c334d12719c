"""gunicorn settings for production (``make serve``): threaded workers behind nginx, an access log.

``gunicorn --config webapp/gunicorn_conf.py 'webapp:create_app()'``. The
environment picks the size: ``WORKERS`` processes (default 2, one per core
here) of ``THREADS`` threads each (default 4), and the public address
``HOST:PORT`` (default 127.0.0.1:5000, as ``make run``). Each worker loads the
model once and answers requests from its threads.

``FRONT=nginx`` (the default): nginx listens on ``HOST:PORT`` and passes only
complete requests to gunicorn on a Unix socket in ``RUN_DIR`` (default a
folder in the system's temporary folder), so slow clients never hold a thread
(:mod:`webapp.front`); the app trusts its ``X-Forwarded-For`` (one proxy hop,
unless ``SKETCHREC_PROXY_HOPS`` says more). ``FRONT=none``: gunicorn alone on
``HOST:PORT``, for a deployment with its own buffering proxy.
"""

import os
import shutil
import tempfile

public = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '5000')}"
front = os.environ.get("FRONT", "nginx")
workers = int(os.environ.get("WORKERS", "2"))
threads = int(os.environ.get("THREADS", "4"))
worker_class = "gthread"
accesslog = "-"  # one line per request on stdout
errorlog = "-"
timeout = 60  # seconds a worker may stay silent before the master restarts it
graceful_timeout = 30
keepalive = 5
# Not preload_app: each worker opens its own SQLite connections after the fork.

if front == "nginx":
    from webapp import front as nginx

    # Named by the master's pid: the same folder when a HUP reads this file again.
    run_dir = os.environ.get("RUN_DIR") or os.path.join(
        tempfile.gettempdir(), f"sketchrec-{os.getpid()}"
    )
    bind = [f"unix:{nginx.socket_path(run_dir)}"]
    os.environ.setdefault("SKETCHREC_PROXY_HOPS", "1")
    # The client's address as nginx saw it (the socket has none), then the usual fields.
    access_log_format = (
        '%({x-forwarded-for}i)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'
    )

    def on_starting(server):
        if server.cfg.bind != bind:
            raise RuntimeError(
                "FRONT=nginx binds gunicorn to its own socket: give the public address as "
                "HOST and PORT, or set FRONT=none to bind gunicorn itself"
            )
        server.front = nginx.start(public, run_dir)

    def on_exit(server):
        front_process = getattr(server, "front", None)
        if front_process is not None:
            nginx.stop(front_process)
        if not os.environ.get("RUN_DIR"):
            shutil.rmtree(run_dir, ignore_errors=True)

elif front == "none":
    bind = [public]
else:
    raise ValueError(f"FRONT={front!r}: expected nginx or none")
