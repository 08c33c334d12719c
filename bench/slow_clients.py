"""Slow clients against the production server, with and without nginx in front.

Usage: ``.venv/bin/python -m bench.slow_clients [--headers 30] [--bodies 20] [--seconds 20]
[--fronts nginx,none] [--out slow_clients.json]``

For each ``FRONT`` in turn, gunicorn with ``webapp/gunicorn_conf.py`` (as
``make serve`` runs it, 2 workers x 4 threads) serves the demo model while
``--headers`` connections send a GET's headers and ``--bodies`` connections a
POST body to ``/api/recommendations``, each a byte every 0.5 s, and one client
asks for ``/healthz`` on a new connection every 0.25 s (5 s timeout). Reported:
the share of ``/healthz`` answered and their latencies, against the same
client's latencies before the slow clients came (the reference). Loopback
only, bounded in connections and time; writes bench/out/<out>.
"""

import argparse
import json
import os
import shutil
import socket
import threading
import time

import numpy as np
import requests

from bench.load import OUT, fit_demo_model, start_server
from bench.serve import free_port, wait_until_up
from tests.fake_sketchfab import FakeSketchfab

HEAD = b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: 1\r\n" * 100 + b"\r\n"
BODY = (
    b"POST /api/recommendations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    b'Content-Length: 1000\r\n\r\n{"likes": [' + b'"a",' * 200
)


def trickle(port, data, stop):
    """Send ``data`` a byte every 0.5 s until ``stop`` or the server closes the connection."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            for byte in data:
                if stop.wait(0.5):
                    return
                s.sendall(bytes([byte]))
    except OSError:
        return


def probe(base, seconds):
    """``/healthz`` every 0.25 s for ``seconds``: latencies (s) of answers, count of failures."""
    latencies, failures = [], 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            ok = requests.get(base + "/healthz", timeout=5).status_code == 200
        except requests.RequestException:
            ok = False
        if ok:
            latencies.append(time.perf_counter() - started)
        else:
            failures += 1
        time.sleep(0.25)
    return latencies, failures


def summary(latencies, failures):
    ms = np.array(latencies) * 1000
    return {
        "answered": len(latencies),
        "failed": failures,
        "median_ms": float(np.median(ms)) if len(ms) else None,
        "max_ms": float(ms.max()) if len(ms) else None,
    }


def measure(folder, model_path, fake, front, args):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server, log = start_server(folder, model_path, fake.url, port, front)
    stop = threading.Event()
    clients = [
        threading.Thread(target=trickle, args=(port, data, stop))
        for data in [HEAD] * args.headers + [BODY] * args.bodies
    ]
    try:
        wait_until_up(base)
        alone = summary(*probe(base, 5))
        for client in clients:
            client.start()
        time.sleep(1)
        slow = summary(*probe(base, args.seconds))
    finally:
        stop.set()
        for client in clients:
            client.join()
        server.terminate()
        server.wait(timeout=30)
        log.close()
    return {"alone": alone, "with_slow_clients": slow}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--headers", type=int, default=30)
    parser.add_argument("--bodies", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--fronts", default="nginx,none")
    parser.add_argument("--out", default="slow_clients.json", help="file name under bench/out")
    args = parser.parse_args(argv)
    folder = os.path.join(OUT, "slow_clients")
    shutil.rmtree(folder, ignore_errors=True)
    _, model_path = fit_demo_model(folder)
    fake = FakeSketchfab().start()
    report = {"settings": vars(args), "load_average_before": os.getloadavg(), "fronts": {}}
    try:
        for front in args.fronts.split(","):
            report["fronts"][front] = measure(folder, model_path, fake, front, args)
    finally:
        fake.stop()
    report["load_average_after"] = os.getloadavg()
    with open(os.path.join(OUT, args.out), "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)
    print("| FRONT | /healthz alone: median, max | with slow clients: answered, median, max |")
    print("| --- | --- | --- |")
    for front, r in report["fronts"].items():
        a, s = r["alone"], r["with_slow_clients"]
        print(
            f"| {front} | {a['median_ms']:.1f} ms, {a['max_ms']:.1f} ms | "
            f"{s['answered']} of {s['answered'] + s['failed']}, {s['median_ms'] or 0:.1f} ms, "
            f"{s['max_ms'] or 0:.1f} ms |"
        )


if __name__ == "__main__":
    main()
