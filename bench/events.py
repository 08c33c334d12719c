"""Benchmark what recording a visitor's event costs the request thread.

Usage: ``.venv/bin/python -m bench.events [--events 20000] [--requests 2000]``

1. In-process: ``POST /api/events``'s whole view (request context, JSON body,
   checks, ticket signature, per-visitor rate, queueing) per event, wall clock
   and the calling thread's CPU time (``time.thread_time``); then the
   queueing alone (``EventWriter.put``) against the reference a writer without a
   queue would pay instead: one ``INSERT`` and commit in the events file (SQLite
   WAL) per event, measured in the same run. The background writer keeps
   writing meanwhile, as in production.
2. Over HTTP: nginx in front of gunicorn (2 workers x 4 threads) on 127.0.0.1, as
   ``make serve`` runs them (``tests/admin_server.py``), one keep-alive
   client, ``POST /api/events`` (an impression with a ticket) alternating with
   ``GET /healthz`` (the reference: the cheapest route), p50 and p99.

Artifacts: ``python -m training demo`` likes fitted by ``python -m training fit``.
Loopback only, bounded; nothing is asserted. Writes bench/out/events.json.
"""

import argparse
import itertools
import json
import os
import platform
import shutil
import statistics
import tempfile
import time

import requests

from webapp import create_app
from webapp.events import current_writer, routes
from webapp.events.store import EventFile

from bench.trial import training
from tests.admin_server import AdminServer

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(BENCH_DIR, "out")


def per_event_us(call, count, clock=time.perf_counter):
    """Median of 5 rounds of ``count // 5`` calls: microseconds per call on ``clock``
    (``time.thread_time``: this thread's CPU, which other processes' load does not inflate)."""
    rounds = []
    for _ in range(5):
        started = clock()
        for i in range(count // 5):
            call(i)
        rounds.append((clock() - started) / (count // 5) * 1e6)
    return statistics.median(rounds)


def in_process(model, folder, count):
    app = create_app(
        {"MODEL_PATH": model, "EVENTS_DB": os.path.join(folder, "events.sqlite"), "OFFLINE": True}
    )
    mid = app.test_client().get("/").get_data(as_text=True).split('data-heart="')[1].split('"')[0]
    ticket = app.test_client().get(f"/api/models/{mid}/similar").get_json()["ticket"]

    sent = itertools.count()

    def record(i):
        # A visitor per 100 events: the per-visitor rate never refuses here.
        visitor = f"bench-visitor-{next(sent) // 100:08d}"
        body = {"visitor": visitor, "type": "impression", "ticket": ticket, "position": i % 10}
        with app.test_request_context("/api/events", method="POST", json=body):
            assert routes.record()[1] == 204

    view = per_event_us(record, count)
    view_cpu = per_event_us(record, count, time.thread_time)
    sample = (time.time(), "bench-visitor-00000000", "heart", mid, *[None] * 7)
    with app.app_context():
        writer = current_writer()
        queued = per_event_us(lambda i: writer.put(sample), count)
        assert writer.flush(60)
    direct = EventFile(os.path.join(folder, "direct.sqlite"))
    synchronous = per_event_us(lambda i: direct.append([sample]), count // 4)
    return {
        "view_us": round(view, 1),
        "view_thread_cpu_us": round(view_cpu, 1),
        "put_us": round(queued, 2),
        "insert_commit_us": round(synchronous, 1),
    }


def over_http(model, likes, folder, count):
    server = AdminServer(os.path.join(folder, "server"), model, likes).start()
    try:
        with requests.Session() as session:
            home = session.get(server.url + "/", timeout=10).text
            mid = home.split('data-heart="')[1].split('"')[0]
            ticket = session.get(f"{server.url}/api/models/{mid}/similar", timeout=10).json()[
                "ticket"
            ]
            times = {"event": [], "healthz": []}
            for i in range(count):
                body = {
                    "visitor": f"bench-visitor-{i // 100:08d}",
                    "type": "impression",
                    "ticket": ticket,
                    "position": i % 10,
                }
                for name, send in (
                    ("event", lambda b=body: session.post(server.url + "/api/events", json=b)),
                    ("healthz", lambda: session.get(server.url + "/healthz")),
                ):
                    started = time.perf_counter()
                    assert send().status_code in (200, 204)
                    times[name].append((time.perf_counter() - started) * 1000)
    finally:
        server.stop()
    return {
        name: {
            "p50_ms": round(statistics.median(t), 3),
            "p99_ms": round(statistics.quantiles(t, n=100)[98], 3),
        }
        for name, t in times.items()
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=2_000)
    args = parser.parse_args(argv)
    os.makedirs(OUT, exist_ok=True)
    folder = tempfile.mkdtemp(prefix="events-bench-")
    try:
        likes, model = os.path.join(folder, "likes.psv"), os.path.join(folder, "model.npz")
        training("demo", "--out", likes)
        training("fit", likes, "--out", model)
        result = {
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, shared",
            "in_process": in_process(model, folder, args.events),
            "http": over_http(model, likes, folder, args.requests),
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    p, h = result["in_process"], result["http"]
    print(f"machine: {result['machine']}")
    print(
        f"in-process, per event: the whole view {p['view_us']} us "
        f"({p['view_thread_cpu_us']} us of the thread's CPU), of which queueing "
        f"{p['put_us']} us; one INSERT + commit instead: {p['insert_commit_us']} us "
        f"(queueing {p['put_us'] / p['insert_commit_us']:.3f}x of it)"
    )
    for name, t in h.items():
        print(f"HTTP {name}: p50 {t['p50_ms']} ms, p99 {t['p99_ms']} ms")
    ratio = h["event"]["p50_ms"] / h["healthz"]["p50_ms"]
    print(f"POST /api/events p50 / GET /healthz p50: {ratio:.2f}x")
    with open(os.path.join(OUT, "events.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
