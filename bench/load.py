"""Loopback load on the production server: 50 clients for 60 s, then again during a retrain.

Usage: ``.venv/bin/python -m bench.load [--clients 50] [--seconds 60] [--think 0.5]
[--no-thumbnails] [--fronts nginx,none] [--out load.json]``

The server is gunicorn with ``webapp/gunicorn_conf.py`` (what ``make serve``
runs: nginx in front of 2 workers x 4 threads; ``--fronts nginx,none`` runs
everything once per ``FRONT``, one after the other, to compare), the demo
model (3,000 users x 2,000 models, fitted here), and the fake Sketchfab API of
the tests answering every look-up after 200 ms. Each client is a browser-like
user: a model page, its similar list from the API, the thumbnails of the model
and of its neighbours, and ``/healthz`` (the reference route), then
``--think`` seconds of reading.

1. ``steady``: the load alone.
2. ``retrain``: the same load while a retrain is submitted through the admin
   interface (CSRF token, basic auth) with "activate when done". Every similar
   list returned is compared with the lists of the old and the new model
   computed offline: each must be wholly one or the other.
3. ``login flood``: 200 wrong admin passwords at concurrency 8 while one
   client times ``/healthz``, against 200 anonymous requests to ``/admin``
   (401 without a password check) just before: the reference.

Bounded in clients and time, loopback only. Prints a Markdown table and writes
bench/out/load.json. Timings are never asserted.
"""

import argparse
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import requests
from threadpoolctl import threadpool_limits
from werkzeug.security import generate_password_hash

from training import demo, wrmf
from training.core import artifact
from training.core.likes import file_sha256, read_likes
from training.core.params import Params
from training.core.prepare import dataset_summary, prepare
from webapp.serving.catalog import Catalog

from bench.serve import free_port, micro_seconds, wait_until_up
from tests.fake_sketchfab import FakeSketchfab

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH_DIR)
OUT = os.path.join(BENCH_DIR, "out")

PASSWORD = "load test password"
K = 10


def fit_demo_model(folder):
    """The demo likes and a model fitted on them (40 factors, 10 iterations); returns paths."""
    likes = os.path.join(folder, "data", "likes.psv")
    os.makedirs(os.path.dirname(likes), exist_ok=True)
    demo.write_demo(likes)
    prepared = prepare(read_likes(likes))
    params = Params(factors=40, regularization=0.1, alpha=50.0)
    model = wrmf.fit(prepared.likes, params, iterations=10)
    path = os.path.join(folder, "models", "active.npz")
    meta = artifact.build_meta(params, 10, dataset_summary(likes, prepared))
    artifact.save_model(
        path, model.item_factors, prepared.mids, prepared.names, prepared.likes, meta
    )
    return likes, path


def start_server(folder, model_path, api_url, port, front="nginx"):
    """gunicorn as ``make serve`` runs it (``FRONT=front``), admin on; returns the process."""
    env = {
        **os.environ,
        "FRONT": front,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WORKERS": "2",
        "THREADS": "4",
        "SKETCHREC_MODEL_PATH": model_path,
        "SKETCHREC_DATA_DIR": os.path.join(folder, "data"),
        "SKETCHREC_JOBS_DIR": os.path.join(folder, "jobs"),
        "SKETCHREC_THUMBNAIL_CACHE": os.path.join(folder, "thumbnails.sqlite"),
        "SKETCHREC_SKETCHFAB_API_URL": api_url,
        "SKETCHREC_OFFLINE": "false",
        "SKETCHREC_SECRET_KEY": "load-test",
        "SKETCHREC_ADMIN_PASSWORD_HASH": generate_password_hash(PASSWORD),
    }
    log = open(os.path.join(folder, "server.log"), "wb")  # noqa: SIM115 - closed in main()
    command = [
        os.path.join(os.path.dirname(sys.executable), "gunicorn"),
        "--config",
        os.path.join(ROOT, "webapp", "gunicorn_conf.py"),
        "webapp:create_app()",
    ]
    return subprocess.Popen(command, env=env, stdout=log, stderr=log, cwd=ROOT), log


class Recorder:
    """Latencies and failures per route, and every similar list seen (thread-safe)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.seconds = defaultdict(list)
        self.errors = defaultdict(int)
        self.lists = []  # (time, mid, [similar mids])

    def get(self, session, route, url, ok=(200,)):
        started = time.perf_counter()
        try:
            response = session.get(url, allow_redirects=False, timeout=30)
            failed = response.status_code not in ok
        except requests.RequestException:
            response, failed = None, True
        elapsed = time.perf_counter() - started
        with self.lock:
            self.seconds[route].append(elapsed)
            if failed:
                self.errors[route] += 1
        return None if failed else response

    def summary(self):
        return {
            route: {
                "requests": len(times),
                "errors": self.errors[route],
                **micro_seconds(times),
                "max_us": 1e6 * max(times),
            }
            for route, times in sorted(self.seconds.items())
        }


def browse(base, mids, deadline, think, recorder, rng, thumbnails=True):
    """One client until ``deadline``: page, similar list, thumbnails, health, think."""
    with requests.Session() as session:
        while time.monotonic() < deadline:
            mid = rng.choice(mids)
            recorder.get(session, "page", f"{base}/models/{mid}")
            response = recorder.get(session, "similar", f"{base}/api/models/{mid}/similar?k={K}")
            shown = [mid]
            if response is not None:
                similar = [s["mid"] for s in response.json()["similar"]]
                with recorder.lock:
                    recorder.lists.append((time.monotonic(), mid, similar))
                shown += similar
            for other in shown if thumbnails else []:
                recorder.get(session, "thumbnail", f"{base}/thumbnails/{other}", ok=(200, 302))
            recorder.get(session, "healthz", f"{base}/healthz")
            time.sleep(think * rng.uniform(0.5, 1.5))


def run_load(base, mids, args, during=None):
    """``args.clients`` browsing for ``args.seconds``; ``during(recorder)`` runs beside them."""
    recorder = Recorder()
    deadline = time.monotonic() + args.seconds
    threads = [
        threading.Thread(
            target=browse,
            args=(base, mids, deadline, args.think, recorder, random.Random(i), args.thumbnails),
        )
        for i in range(args.clients)
    ]
    started = time.monotonic()
    for t in threads:
        t.start()
    extra = during(recorder) if during else None
    for t in threads:
        t.join()
    return recorder, time.monotonic() - started, extra


def retrain_through_admin(base, delay):
    """After ``delay`` s, submit a retrain (activate when done) as the admin page does; wait."""

    def during(recorder):
        time.sleep(delay)
        session = requests.Session()
        session.auth = ("admin", PASSWORD)
        page = session.get(base + "/admin", timeout=30).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        form = {
            "csrf_token": token,
            "likes": "likes.psv",
            "mode": "params",
            "factors": "32",
            "regularization": "0.1",
            "alpha": "50",
            "iterations": "8",
            "activate": "on",
        }
        submitted = time.monotonic()
        response = session.post(base + "/admin/jobs", data=form, allow_redirects=False, timeout=30)
        job_id = response.headers["Location"].rsplit("/", 1)[1]
        while True:
            job = session.get(f"{base}/admin/jobs/{job_id}.json", timeout=30).json()["job"]
            if job["status"] not in ("queued", "running"):
                break
            time.sleep(0.5)
        return {"job": job, "submitted": submitted, "ended": time.monotonic()}

    return during


def offline_lists(path):
    """A function mid -> similar mids (k=10) of the artifact at ``path``, as the server computes."""
    catalog = Catalog.open(path, file_sha256(path))
    cache = {}

    def similar(mid):
        if mid not in cache:
            cache[mid] = [s["mid"] for s in catalog.similar(catalog.row(mid), K)]
        return cache[mid]

    return similar


def classify(lists, old, new):
    """How many similar lists are wholly the old model's, wholly the new one's, or neither."""
    counts = {"old": 0, "new": 0, "neither": 0}
    for _, mid, similar in lists:
        if similar == old(mid):
            counts["old"] += 1
        elif similar == new(mid):
            counts["new"] += 1
        else:
            counts["neither"] += 1
    return counts


def login_flood(base, attempts=200, concurrency=8):
    """``/healthz`` latency alone, during ``attempts`` anonymous requests to ``/admin`` (401
    without a password check: the reference) and during as many wrong passwords."""
    session = requests.Session()

    def health_times(stop):
        times = []
        while not stop():
            started = time.perf_counter()
            session.get(base + "/healthz", timeout=30)
            times.append(time.perf_counter() - started)
        return times

    def during(auth):
        done = threading.Event()
        with ThreadPoolExecutor(1) as probe, ThreadPoolExecutor(concurrency) as pool:
            prober = probe.submit(health_times, done.is_set)
            statuses = list(
                pool.map(
                    lambda i: requests.get(base + "/admin", auth=auth(i), timeout=30).status_code,
                    range(attempts),
                )
            )
            done.set()
            return micro_seconds(prober.result()), {
                str(s): statuses.count(s) for s in sorted(set(statuses))
            }

    quiet_until = time.monotonic() + 5
    alone = micro_seconds(health_times(lambda: time.monotonic() > quiet_until))
    anonymous, anonymous_statuses = during(lambda i: None)
    guesses, statuses = during(lambda i: ("admin", f"guess {i}"))
    return {
        "healthz_alone": alone,
        "healthz_during_anonymous": anonymous,
        "healthz_during_flood": guesses,
        "anonymous_statuses": anonymous_statuses,
        "statuses": statuses,
        "ratio_p99": guesses["p99_us"] / anonymous["p99_us"],
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--think", type=float, default=0.5, help="mean seconds between pages")
    parser.add_argument("--latency", type=float, default=0.2, help="fake API answer delay, s")
    parser.add_argument("--retrain-after", type=float, default=10, help="s into the phase")
    parser.add_argument(
        "--no-thumbnails", dest="thumbnails", action="store_false", help="pages and API only"
    )
    parser.add_argument("--out", default="load.json", help="file name under bench/out")
    parser.add_argument("--flood-only", action="store_true", help="only the login flood")
    parser.add_argument("--fronts", default="nginx", help="FRONT values to serve with, in turn")
    args = parser.parse_args(argv)
    threadpool_limits(limits=1, user_api="blas")  # as every server process does
    folder = os.path.join(OUT, "load")
    shutil.rmtree(folder, ignore_errors=True)
    likes, model_path = fit_demo_model(folder)
    old_copy = os.path.join(folder, "old.npz")
    shutil.copyfile(model_path, old_copy)
    mids = mids_of(model_path)

    fake = FakeSketchfab()
    fake.default, fake.slow_seconds = "slow", args.latency
    fake.start()
    report = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_before": os.getloadavg(),
        },
        "settings": vars(args),
        "models": len(mids),
    }
    report["fronts"] = {}
    try:
        for front in args.fronts.split(","):
            # Each front starts from the same model, with no jobs and no login failures counted.
            shutil.copyfile(old_copy, model_path)
            shutil.rmtree(os.path.join(folder, "jobs"), ignore_errors=True)
            report["fronts"][front] = serve_and_load(folder, model_path, fake, front, args)
    finally:
        fake.stop()
    report["machine"]["load_average_after"] = os.getloadavg()
    with open(os.path.join(OUT, args.out), "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)
    print_report(report)


def serve_and_load(folder, model_path, fake, front, args):
    """The phases' and the login flood's reports against a server with ``FRONT=front``."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server, log = start_server(folder, model_path, fake.url, port, front)
    report = {}
    try:
        wait_until_up(base)
        if not args.flood_only:
            report.update(load_phases(base, mids_of(model_path), args, folder))
        report["login_flood"] = login_flood(base)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    return report


def mids_of(model_path):
    return artifact.load_model(model_path).mids.tolist()


def load_phases(base, mids, args, folder):
    """The ``steady`` and ``retrain`` phases' reports."""
    old_copy = os.path.join(folder, "old.npz")
    report = {}
    steady, elapsed, _ = run_load(base, mids, args)
    old = offline_lists(old_copy)
    report["steady"] = {
        "seconds": elapsed,
        "routes": steady.summary(),
        "lists": classify(steady.lists, old, old),
    }
    busy, elapsed, retrain = run_load(
        base, mids, args, during=retrain_through_admin(base, args.retrain_after)
    )
    job = retrain["job"]
    new = offline_lists(job["candidate"])
    report["retrain"] = {
        "seconds": elapsed,
        "routes": busy.summary(),
        "job": {k: job[k] for k in ("status", "activated", "seconds", "error")},
        "job_wall_seconds": retrain["ended"] - retrain["submitted"],
        "lists": classify(busy.lists, old, new),
        "new_differs": sum(old(m) != new(m) for m in mids[:200]),
    }
    return report


def print_report(report):
    m = report["machine"]
    print(
        f"Machine: {m['cpus']} CPUs, Python {m['python']}, load average "
        f"{m['load_average_before'][0]:.1f} before, {m['load_average_after'][0]:.1f} after; "
        f"{report['models']} models; {report['settings']['clients']} clients x "
        f"{report['settings']['seconds']} s"
    )
    for front, r in report["fronts"].items():
        print(f"\n## FRONT={front}")
        print_front(r)


def print_front(r):
    for phase in ("steady", "retrain") if "steady" in r else ():
        p = r[phase]
        print(f"\n{phase} ({p['seconds']:.0f} s): lists {p['lists']}")
        print("| route | requests | errors | median | p99 | max |")
        print("| --- | --- | --- | --- | --- | --- |")
        for route, s in p["routes"].items():
            print(
                f"| {route} | {s['requests']} | {s['errors']} | {s['median_us'] / 1000:.1f} ms "
                f"| {s['p99_us'] / 1000:.1f} ms | {s['max_us'] / 1000:.1f} ms |"
            )
        routes = p["routes"]
        ratio = routes["similar"]["p99_us"] / routes["healthz"]["p99_us"]
        print(f"similar / healthz p99: {ratio:.2f}")
    if "retrain" in r:
        print(
            f"\nretrain job: {r['retrain']['job']}, wall {r['retrain']['job_wall_seconds']:.1f} s"
        )
    f = r["login_flood"]
    p99 = {k: f[k]["p99_us"] / 1000 for k in f if k.startswith("healthz")}
    print(
        f"\nlogin flood {f['statuses']}: healthz p99 {p99['healthz_alone']:.1f} ms alone, "
        f"{p99['healthz_during_anonymous']:.1f} ms during {f['anonymous_statuses']} anonymous "
        f"requests, {p99['healthz_during_flood']:.1f} ms during the wrong passwords "
        f"(ratio to anonymous {f['ratio_p99']:.2f})"
    )


if __name__ == "__main__":
    main()
