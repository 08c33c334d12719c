"""Benchmark the site while the Sketchfab API misbehaves.

Usage: ``.venv/bin/python -m bench.faults [--seconds 12] [--modes ok,hang,delay,trickle,huge]``

For each mode of the fake Sketchfab API (``tests.fake_sketchfab``), a fresh
gunicorn (2 workers x 4 threads, ``gthread``) on 127.0.0.1 with an empty
thumbnail cache serves the reference-sized artifact of ``bench/serve.py``.
For ``--seconds``, two keep-alive clients ask ``/api/models/<mid>/similar``
one request after another, while every 3 s a burst of 48 concurrent
``/thumbnails/<mid>`` requests (a gallery page, new mids each time) lands.
Reported per mode: similar-API p50/p99/max, thumbnail answer p99, any 5xx,
API calls made, and the workers' RSS growth (psutil, after minus before).
Mode ``ok`` (a healthy API, no delay) is the reference each fault is compared
with, as a ratio of similar-API p99.

Then, in Chromium, with a healthy API answering in 200 ms: the share of a
gallery's 48 thumbnails that are real images in the first view (after the
page's one retry), and whether a second visitor's view needs any API call.

Loopback only, bounded in time; nothing is asserted. Writes bench/out/faults.json.
"""

import argparse
import json
import os
import platform
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psutil
import requests

from bench.serve import (
    OUT,
    free_port,
    fresh_cache,
    reference_sized_artifact,
    start_gunicorn,
    wait_until_up,
)
from tests.fake_sketchfab import FakeSketchfab

GALLERY = 48  # thumbnails per gallery page
BURST_EVERY = 3.0  # seconds between gallery views
SIMILAR_CLIENTS = 2
CHROMIUM = "/usr/bin/chromium"
REAL = "img => img.naturalWidth === 256"  # the fake's chosen image; placeholders are 320 wide


def workers_rss(server):
    """Total RSS of the gunicorn workers (the master's children), in MiB."""
    children = psutil.Process(server.pid).children()
    return sum(child.memory_info().rss for child in children) / 2**20


def percentile(samples, share):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def similar_stream(base, mids, stop, times, statuses):
    """Ask for similar lists one after another until ``stop`` is set."""
    session = requests.Session()
    i = 0
    while not stop.is_set():
        started = time.perf_counter()
        response = session.get(f"{base}/api/models/{mids[i % len(mids)]}/similar?k=10", timeout=30)
        times.append(time.perf_counter() - started)
        statuses.append(response.status_code)
        i += 7


def gallery_burst(base, mids):
    """48 concurrent thumbnail requests, one connection each: ``(seconds, status)`` pairs."""

    def one(mid):
        started = time.perf_counter()
        response = requests.get(f"{base}/thumbnails/{mid}", allow_redirects=False, timeout=60)
        return time.perf_counter() - started, response.status_code

    with ThreadPoolExecutor(len(mids)) as pool:
        return list(pool.map(one, mids))


def run_mode(mode, model_path, mids, fake, seconds):
    """One fresh server against the fake API in ``mode``; the measures as a dict."""
    fake.reset()
    fake.default = mode
    cache_path = fresh_cache(f"faults_{mode}.sqlite")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server, command = start_gunicorn(model_path, fake, cache_path, port)
    try:
        wait_until_up(base)
        requests.get(f"{base}/api/models/{mids[0]}/similar", timeout=30)  # warm both
        rss_before = workers_rss(server)
        stop, times, statuses, thumbs = threading.Event(), [], [], []
        clients = [
            threading.Thread(target=similar_stream, args=(base, mids, stop, times, statuses))
            for _ in range(SIMILAR_CLIENTS)
        ]
        for client in clients:
            client.start()
        started, view = time.monotonic(), 0
        peak = rss_before
        while time.monotonic() - started < seconds:
            page = mids[1 + view * GALLERY : 1 + (view + 1) * GALLERY]
            thumbs += gallery_burst(base, page)
            view += 1
            peak = max(peak, workers_rss(server))
            time.sleep(max(0.0, BURST_EVERY - (time.monotonic() - started) % BURST_EVERY))
        stop.set()
        for client in clients:
            client.join()
        peak = max(peak, workers_rss(server))
    finally:
        server.terminate()
        server.wait(timeout=30)
    thumb_times = [t for t, _ in thumbs]
    return {
        "command": f"gunicorn {command}",
        "similar": {
            "requests": len(times),
            "p50_ms": 1e3 * statistics.median(times),
            "p99_ms": 1e3 * percentile(times, 0.99),
            "max_ms": 1e3 * max(times),
            "errors": sum(s != 200 for s in statuses),
        },
        "thumbnails": {
            "requests": len(thumbs),
            "views": view,
            "p99_ms": 1e3 * percentile(thumb_times, 0.99),
            "max_ms": 1e3 * max(thumb_times),
            "server_errors": sum(s >= 500 for _, s in thumbs),
            "redirects": sum(s == 302 for _, s in thumbs),
        },
        "api_calls": len(fake.hits),
        "rss_mib": {"before": rss_before, "peak": peak, "growth": peak - rss_before},
    }


def first_views(model_path, fake):
    """Chromium against a healthy API answering in 200 ms: real-image shares of two visitors."""
    from playwright.sync_api import sync_playwright

    fake.reset()
    fake.latency = 0.2
    cache_path = fresh_cache("faults_chromium.sqlite")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server, _ = start_gunicorn(model_path, fake, cache_path, port)
    result = {}
    try:
        wait_until_up(base)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
            )
            for visitor in ("first", "second"):
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                page = context.new_page()
                hits_before = len(fake.hits)
                started = time.monotonic()
                page.goto(base + "/")
                for image in page.locator("img").all():
                    image.scroll_into_view_if_needed()
                # Settled: every image real, or loaded again after its one retry.
                page.wait_for_function(
                    f"() => [...document.images].every(i => i.complete && i.naturalWidth > 0"
                    f" && (({REAL})(i) || (i.dataset.retried && i.src.includes('retry=1'))))",
                    timeout=30_000,
                )
                page.wait_for_load_state("networkidle")
                real = page.evaluate(f"[...document.images].filter({REAL}).length")
                total = page.evaluate("document.images.length")
                result[visitor] = {
                    "real": real,
                    "images": total,
                    "share": real / total,
                    "settled_seconds": time.monotonic() - started,
                    "api_calls": len(fake.hits) - hits_before,
                }
                context.close()
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=12.0, help="load per mode")
    parser.add_argument("--modes", default="ok,hang,delay,trickle,huge")
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium part")
    args = parser.parse_args(argv)
    os.makedirs(OUT, exist_ok=True)
    model_path = os.path.join(OUT, "serve_model.npz")
    mids = reference_sized_artifact(model_path)
    fake = FakeSketchfab()
    fake.hang_seconds = 60.0
    fake.start()
    report = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average": os.getloadavg(),
        },
        "seconds_per_mode": args.seconds,
        "modes": {},
    }
    try:
        for mode in args.modes.split(","):
            report["modes"][mode] = run_mode(mode, model_path, mids, fake, args.seconds)
            print_mode(mode, report["modes"][mode], report["modes"].get("ok"))
        if not args.no_browser and os.path.exists(CHROMIUM):
            report["chromium"] = first_views(model_path, fake)
            print_views(report["chromium"])
    finally:
        fake.stop()
    report["machine"]["load_average_after"] = os.getloadavg()
    with open(os.path.join(OUT, "faults.json"), "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)


def print_mode(mode, r, reference):
    s, t = r["similar"], r["thumbnails"]
    ratio = f"{s['p99_ms'] / reference['similar']['p99_ms']:.2f}" if reference else "-"
    print(
        f"| {mode} | {s['requests']} | {s['p50_ms']:.1f} | {s['p99_ms']:.1f} | {s['max_ms']:.1f} "
        f"| {ratio} | {s['errors']} | {t['requests']} | {t['p99_ms']:.1f} | {t['server_errors']} "
        f"| {t['redirects']} | {r['api_calls']} | {r['rss_mib']['before']:.0f} "
        f"| {r['rss_mib']['growth']:+.1f} |",
        flush=True,
    )


def print_views(views):
    for visitor, v in views.items():
        print(
            f"Chromium {visitor} view: {v['real']}/{v['images']} real images "
            f"({100 * v['share']:.0f}%), settled in {v['settled_seconds']:.1f} s, "
            f"{v['api_calls']} API calls",
            flush=True,
        )


if __name__ == "__main__":
    main()
