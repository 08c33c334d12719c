"""Benchmark serving at the post's size (25k models x 40 factors).

Usage: ``.venv/bin/python -m bench.serve [--requests 3000] [--threads 8] [--rounds 5]
[--queries 2000] [--exponents 0.5,0] [--skip-http]``

1. Neighbour queries in-process: ``similar_rows`` (scores and top k) alone and the whole
   ``similar`` (top-k, co-likes, dicts) on a random artifact of the post's size,
   for cosine (similarity exponent 1, the reference) and for each ``--exponents`` value
   (the same vectors served with that exponent); beside them ``recommend`` (fold-in of
   10, 50 and 500 hearts, top 10, cards).
2. HTTP throughput of ``/api/models/<mid>/similar`` against ``/healthz`` on
   one gunicorn server (2 workers), driven by a bounded loopback load
   generator: a thread pool with one keep-alive session per thread and a
   fixed number of requests; rounds alternate between the two routes.
3. Cold ``/thumbnails/<mid>`` latency (a placeholder at once while the
   look-up runs in the background) and warm-cache latency (a 302 from the
   SQLite cache, after one look-up each against the fake Sketchfab API), against
   ``/healthz`` latency measured the same way.
4. ``POST /api/recommendations`` latency (10 hearts, k=10) against
   ``GET /api/models/<mid>/similar?k=10``, one request at a time, alternating.

Prints a Markdown table and writes bench/out/serve.json. Timings are never
asserted; comparisons are ratios within one run.
"""

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import requests
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from training.core import artifact
from training.core.neighbours import similar_rows
from training.core.params import Params
from webapp.serving.model_store import ModelStore

from tests.fake_sketchfab import FakeSketchfab

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(BENCH_DIR, "out")

MODELS, FACTORS, USERS, DENSITY = (
    25_000,
    40,
    15_000,
    0.0014,
)  # the post's data after thresholding


def reference_sized_artifact(path, seed=0, similarity_exponent=1.0):
    """Random item vectors and likes of the post's size, written as a real artifact."""
    rng = np.random.default_rng(seed)
    likes = sp.random(
        USERS, MODELS, density=DENSITY, format="csr", dtype=np.float32, random_state=rng
    )
    likes.data[:] = 1
    mids = [f"{i:032x}" for i in rng.integers(0, 2**62, size=MODELS)]
    names = [f"Model {i}" for i in range(MODELS)]
    dataset = {
        "path": "random",
        "sha256": "",
        "users": USERS,
        "models": MODELS,
        "likes": int(likes.nnz),
    }
    meta = artifact.build_meta(
        Params(factors=FACTORS), 1, dataset, similarity_exponent=similarity_exponent
    )
    artifact.save_model(path, rng.normal(size=(MODELS, FACTORS)), mids, names, likes, meta)
    return mids


def micro_seconds(samples):
    """Median, p99 and mean of seconds, in µs."""
    ordered = sorted(samples)
    return {
        "median_us": 1e6 * statistics.median(ordered),
        "p99_us": 1e6 * ordered[int(0.99 * (len(ordered) - 1))],
        "mean_us": 1e6 * statistics.fmean(ordered),
    }


HEARTS = (10, 50, 500)  # hearts per recommend query: a few, many, the most a browser keeps


def time_queries(catalog, queries, rng):
    """Per-query times of ``similar_rows(k=10)``, ``similar(k=10)`` and ``recommend(k=10)``.

    Query i starts from a random row; ``recommend_<h>`` folds in ``h``
    distinct random rows instead.
    """
    rows = rng.integers(len(catalog), size=queries)
    index = catalog.neighbours
    hearts = {h: [rng.choice(len(catalog), size=h, replace=False) for _ in rows] for h in HEARTS}
    result = {}
    for name, query in (
        (
            "similar_rows",
            lambda i: similar_rows(index.vectors, index.norms, index.exponent, rows[i], 10),
        ),
        ("similar", lambda i: catalog.similar(rows[i], 10)),
        *((f"recommend_{h}", _recommend_query(catalog, hearts[h])) for h in HEARTS),
    ):
        for i in range(50):
            query(i)  # warm caches and BLAS
        times = []
        for i in range(queries):
            started = time.perf_counter()
            query(i)
            times.append(time.perf_counter() - started)
        result[name] = micro_seconds(times)
    return result


def _recommend_query(catalog, hearts):
    """Query i recommends for the i-th set of hearts (bound here, not in a loop's closure)."""
    return lambda i: catalog.recommend(hearts[i], 10)


def time_exponents(cosine_path, exponents, queries):
    """:func:`time_queries` of cosine and of each exponent on the same vectors and rows.

    Interleaved rounds, so a neighbour on the shared machine slows all alike;
    each exponent's median over cosine's, as ratios.
    """
    paths = {1.0: cosine_path}
    for exponent in exponents:
        paths[exponent] = cosine_path.replace(".npz", f"-{exponent:g}.npz")
        reference_sized_artifact(paths[exponent], similarity_exponent=exponent)
    catalogs = {e: ModelStore(path).get() for e, path in paths.items()}
    samples = {e: [] for e in catalogs}
    for round_ in range(3):
        for exponent, catalog in catalogs.items():
            rng = np.random.default_rng(round_)  # the same rows for every exponent
            samples[exponent].append(time_queries(catalog, queries, rng))
    result = {}
    for exponent, rounds in samples.items():
        medians = {n: statistics.median(r[n]["median_us"] for r in rounds) for n in rounds[0]}
        result[f"{exponent:g}"] = {"median_us": medians}
    for entry in result.values():
        entry["ratio_to_cosine"] = {
            n: entry["median_us"][n] / result["1"]["median_us"][n] for n in entry["median_us"]
        }
    return result


def print_queries(r):
    print(
        f"Machine: {r['machine']['cpus']} CPUs, Python {r['machine']['python']}; "
        f"{r['size']['models']} models x {r['size']['factors']} factors"
    )
    print(
        "\n| exponent | similar_rows median | similar median "
        "| ratio to cosine (similar_rows, similar) |"
    )
    print("| --- | --- | --- | --- |")
    for exponent, entry in r["queries_by_exponent"].items():
        m, ratio = entry["median_us"], entry["ratio_to_cosine"]
        print(
            f"| {exponent} | {m['similar_rows']:.0f} µs | {m['similar']:.0f} µs "
            f"| {ratio['similar_rows']:.2f}, {ratio['similar']:.2f} |"
        )


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(model_path, fake, cache_path, port):
    """gunicorn with 2 gthread workers (keep-alive), the app configured by environment,
    its thumbnails from the fake Sketchfab API ``fake``.

    Returns ``(process, command line)``; the caller waits with :func:`wait_until_up`.
    """
    env = {
        **os.environ,
        "SKETCHREC_MODEL_PATH": model_path,
        "SKETCHREC_SKETCHFAB_API_URL": fake.url,
        "SKETCHREC_SKETCHFAB_IMAGE_ORIGINS": fake.origin,
        "SKETCHREC_THUMBNAIL_CACHE": cache_path,
        "SKETCHREC_OFFLINE": "false",
    }
    command = [
        os.path.join(os.path.dirname(sys.executable), "gunicorn"),
        "--workers",
        "2",
        "--worker-class",
        "gthread",
        "--threads",
        "4",
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        "webapp:create_app()",
    ]
    return subprocess.Popen(command, env=env), " ".join(command[1:])


def wait_until_up(base, seconds=60):
    """Poll ``/healthz`` until it answers 200 (workers load the model first)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(base + "/healthz", timeout=5).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit("gunicorn did not come up")


def throughput(urls, threads):
    """Requests per second for fetching every URL once with ``threads`` keep-alive sessions."""
    local = threading.local()

    def fetch(url):
        if not hasattr(local, "session"):
            local.session = requests.Session()
        response = local.session.get(url, allow_redirects=False)
        if response.status_code != 200:
            raise RuntimeError(f"{url}: {response.status_code}")

    with ThreadPoolExecutor(threads) as pool:
        started = time.perf_counter()
        list(pool.map(fetch, urls))
        return len(urls) / (time.perf_counter() - started)


def fresh_cache(name):
    """The path of an empty thumbnail cache ``bench/out/<name>`` (an earlier run's removed)."""
    path = os.path.join(OUT, name)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    return path


def wait_until_redirected(session, urls, seconds=60):
    """Poll until every thumbnail URL answers its 302 (the background look-ups are done)."""
    deadline = time.monotonic() + seconds
    waiting = list(urls)
    while waiting and time.monotonic() < deadline:
        waiting = [u for u in waiting if session.get(u, allow_redirects=False).status_code != 302]
        time.sleep(0.1)
    if waiting:
        raise SystemExit(f"{len(waiting)} thumbnails never resolved")


def latencies(session, urls, status, bodies=None):
    """Sequential per-request times of ``urls`` (one keep-alive session).

    GETs, or POSTs of ``bodies`` (JSON, one per URL) when given.
    """
    times = []
    for i, url in enumerate(urls):
        started = time.perf_counter()
        if bodies is None:
            response = session.get(url, allow_redirects=False)
        else:
            response = session.post(url, json=bodies[i])
        times.append(time.perf_counter() - started)
        if response.status_code != status:
            raise RuntimeError(f"{url}: {response.status_code}")
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="requests per throughput round")
    parser.add_argument("--threads", type=int, default=8, help="load generator threads")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds per route")
    parser.add_argument("--queries", type=int, default=2000, help="in-process neighbour queries")
    parser.add_argument(
        "--exponents", default="0.5,0", help="similarity exponents timed against cosine"
    )
    parser.add_argument("--skip-http", action="store_true", help="only the in-process queries")
    args = parser.parse_args(argv)
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(1)

    model_path = os.path.join(OUT, "serve_model.npz")
    mids = reference_sized_artifact(model_path)
    catalog = ModelStore(model_path).get()
    threadpool_limits(limits=1, user_api="blas")  # as the app does in each server process
    report = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(),
        },
        "size": {
            "models": len(catalog),
            "factors": catalog.factors,
            "likes": len(catalog.likes_by_model.indices),
        },
        "queries": time_queries(catalog, args.queries, rng),
        "queries_by_exponent": time_exponents(
            model_path, [float(e) for e in args.exponents.split(",")], args.queries
        ),
    }
    if args.skip_http:
        print_queries(report)
        return

    fake = FakeSketchfab().start()
    cache_path = fresh_cache("serve_thumbnails.sqlite")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server, command = start_gunicorn(model_path, fake, cache_path, port)
    try:
        wait_until_up(base)
        similar_urls = [
            f"{base}/api/models/{mids[i]}/similar?k=10"
            for i in rng.integers(len(mids), size=args.requests)
        ]
        health_urls = [f"{base}/healthz"] * args.requests
        throughput(health_urls[:300] + similar_urls[:300], args.threads)  # warm-up
        rates = {"healthz": [], "similar": []}
        for _ in range(args.rounds):
            rates["healthz"].append(throughput(health_urls, args.threads))
            rates["similar"].append(throughput(similar_urls, args.threads))
        medians = {route: statistics.median(r) for route, r in rates.items()}
        # Each round's pair ran back to back, so its ratio shares the machine's state.
        paired = [s / h for s, h in zip(rates["similar"], rates["healthz"], strict=False)]
        report["http"] = {
            "command": f"gunicorn {command}",
            "threads": args.threads,
            "requests_per_round": args.requests,
            "rounds": args.rounds,
            "rates": rates,
            "median_rps": medians,
            "paired_ratios": paired,
            "ratio_similar_to_healthz": statistics.median(paired),
        }

        thumb_urls = [f"{base}/thumbnails/{mid}" for mid in mids[:200]]
        session = requests.Session()
        # The first answer is a placeholder at once; the look-up runs in the background.
        cold = latencies(session, thumb_urls, 200)
        wait_until_redirected(session, thumb_urls)
        hits_after_cold = len(fake.hits)
        warm = latencies(session, thumb_urls * 5, 302)
        health = latencies(session, [f"{base}/healthz"] * len(warm), 200)
        report["thumbnails"] = {
            "cold": micro_seconds(cold),
            "warm": micro_seconds(warm),
            "healthz": micro_seconds(health),
            "api_calls": {"cold": hits_after_cold, "warm": len(fake.hits) - hits_after_cold},
            "ratio_warm_to_healthz": statistics.median(warm) / statistics.median(health),
        }
        report["recommendations_http"] = http_recommend_vs_similar(session, base, mids, rng)
    finally:
        server.terminate()
        server.wait(timeout=30)
        fake.stop()

    with open(os.path.join(OUT, "serve.json"), "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)
    print_table(report)
    print_queries(report)


def http_recommend_vs_similar(session, base, mids, rng, requests_each=500, rounds=4):
    """Sequential latencies: POST /api/recommendations (10 hearts), GET similar, alternating."""
    times = {"recommend": [], "similar": []}
    for _ in range(rounds):
        picks = rng.integers(len(mids), size=(requests_each, HEARTS[0]))
        bodies = [{"likes": [mids[i] for i in row], "k": 10} for row in picks]
        recommend_urls = [f"{base}/api/recommendations"] * requests_each
        similar_urls = [f"{base}/api/models/{mids[row[0]]}/similar?k=10" for row in picks]
        times["recommend"] += latencies(session, recommend_urls, 200, bodies)
        times["similar"] += latencies(session, similar_urls, 200)
    return {
        "recommend": micro_seconds(times["recommend"]),
        "similar": micro_seconds(times["similar"]),
        "ratio_recommend_to_similar": statistics.median(times["recommend"])
        / statistics.median(times["similar"]),
    }


def print_table(r):
    q, h, t = r["queries"], r["http"], r["thumbnails"]
    print(
        f"Machine: {r['machine']['cpus']} CPUs, Python {r['machine']['python']}; "
        f"{r['size']['models']} models x {r['size']['factors']} factors, {r['size']['likes']} likes"
    )
    print("\n| measure | median | p99 | mean |\n| --- | --- | --- | --- |")
    for name in ("similar_rows", "similar", *(f"recommend_{h}" for h in HEARTS)):
        print(
            f"| {name}(k=10), in-process | {q[name]['median_us']:.0f} µs "
            f"| {q[name]['p99_us']:.0f} µs "
            f"| {q[name]['mean_us']:.0f} µs |"
        )
    for name in ("cold", "warm", "healthz"):
        label = {
            "cold": "/thumbnails cold (placeholder, look-up queued)",
            "warm": "/thumbnails warm (SQLite cache)",
            "healthz": "/healthz, same client",
        }[name]
        print(
            f"| {label} | {t[name]['median_us']:.0f} µs | {t[name]['p99_us']:.0f} µs "
            f"| {t[name]['mean_us']:.0f} µs |"
        )
    print(
        f"\nThumbnail API calls: {t['api_calls']['cold']} cold, {t['api_calls']['warm']} warm; "
        f"warm / healthz latency ratio {t['ratio_warm_to_healthz']:.2f}"
    )
    print(
        f"\nHTTP ({h['command']}; {h['threads']} client threads, "
        f"{h['requests_per_round']} requests "
        f"x {h['rounds']} rounds each):"
    )
    for route in ("healthz", "similar"):
        rates = ", ".join(f"{x:.0f}" for x in h["rates"][route])
        print(f"- {route}: median {h['median_rps'][route]:.0f} req/s (rounds: {rates})")
    rec = r["recommendations_http"]
    print(
        f"\nPOST /api/recommendations (10 hearts) median {rec['recommend']['median_us']:.0f} µs, "
        f"p99 {rec['recommend']['p99_us']:.0f} µs; GET similar median "
        f"{rec['similar']['median_us']:.0f} µs, p99 {rec['similar']['p99_us']:.0f} µs; "
        f"ratio {rec['ratio_recommend_to_similar']:.2f}"
    )
    for n in HEARTS:
        ratio = q[f"recommend_{n}"]["median_us"] / q["similar"]["median_us"]
        print(f"- in-process recommend, {n} hearts / similar: {ratio:.2f}")
    pairs = ", ".join(f"{x:.2f}" for x in h["paired_ratios"])
    print(
        f"- ratio similar / healthz: median {h['ratio_similar_to_healthz']:.2f} (rounds: {pairs})"
    )


if __name__ == "__main__":
    main()
