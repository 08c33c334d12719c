"""gunicorn settings for production (``make serve``): threaded workers and an access log.

``gunicorn --config webapp/gunicorn_conf.py 'webapp:create_app()'``. The
environment picks the size: ``WORKERS`` processes (default 2, one per core
here) of ``THREADS`` threads each (default 4), bound to ``HOST:PORT``
(default 127.0.0.1:5000, as ``make run``). Each worker loads the model once and answers
requests from its threads; a slow request holds one thread, not a process.
"""

import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '5000')}"
workers = int(os.environ.get("WORKERS", "2"))
threads = int(os.environ.get("THREADS", "4"))
worker_class = "gthread"
accesslog = "-"  # one line per request on stdout
errorlog = "-"
timeout = 60  # seconds a worker may stay silent before the master restarts it
graceful_timeout = 30
keepalive = 5
# Not preload_app: each worker opens its own SQLite connections after the fork.
