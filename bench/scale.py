"""Benchmark serving millions of models: shared memory, approximate neighbours, name search, reload.

Usage: ``.venv/bin/python -m bench.scale --models 1000000 [--factors 64] [--workers 1,2,4]
[--fitted MODEL.npz [--noise 0.01 | --repeat N]]``

On a synthetic artifact (hex mids, names from a word list, about
``--likes-per-model`` likes each, written with ``training.core.artifact.save_model``)
whose item vectors are drawn from a mixture of gaussians, or, with
``--fitted``, are the item factors of a model written by ``training fit``,
repeated with gaussian noise of ``--noise`` times their spread until
``--models`` rows (near-ties like those of vectors fitted from likes). With
``--repeat N`` the fitted artifact itself serves (its mids, names and
likes; never written to: a link to it), or with N > 1 N copies of its
models, each copy after the first moved by noise of ``--noise`` times the
vectors' spread and liked as its original:

1. ``python -m training index``: build time and peak RSS of the child.
2. Loading in a child process: the memory-mapped :class:`Catalog` against
   the reference (the whole file read, ``np.load`` of the bytes, normalised
   copies, Python lists and dict: the catalogue before the serving files), load time,
   peak RSS and steady RSS after 200 similar queries.
3. gunicorn with 1, 2 and 4 gthread workers: RSS, PSS and USS of each worker
   (psutil ``memory_full_info``) after 400 similar and search requests per
   worker, a new connection each; then 200 similar requests on one
   kept-alive connection (latency, recall@10 of their lists against the
   exact ones) and ``/healthz``'s neighbours. The same on 2 workers serving
   the exact search, for reference.
4. Similar queries in-process: exact against approximate, p50/p99 wall and
   CPU time, recall@10 of the approximate lists against the exact ones.
5. Name search in-process: the index against the Python scan it replaced.
6. Reload: request latency on 2 workers while a changed artifact loads
   (its sidecar folder is built in the background), against before it.

Loopback only, bounded request counts; the files (artifact, sidecars) live
in a temporary folder under bench/out that is deleted at the end. Writes
bench/out/scale-<models>[-fitted].json and prints a summary.
"""

import argparse
import contextlib
import hashlib
import io
import itertools
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import psutil
import requests
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from training.core import artifact, similarity
from training.core.likes import file_sha256
from training.core.params import Params

from bench.serve import free_port, wait_until_up

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(BENCH_DIR, "out")

RELOAD_SECONDS = 900  # longest wait for a reload to finish while requests run

WORDS = (
    "knight dragon car house tree robot sword castle ship girl boy cat dog low poly game asset "
    "scan statue head skull chair table lamp gun tank plane rock temple city room kitchen "
    "character anime armor helmet shield bottle cup flower plant truck bike motor train"
).split()


def synthetic_artifact(
    path, models, factors, likes_per_model, tag="a", random_state=0, fitted=None, noise=0.01
):
    """Write a synthetic artifact of ``models`` rows; returns its seconds to write.

    Its vectors are clustered draws, or the rows of ``fitted`` (float32 [n, f], item
    factors from ``training fit``) repeated with noise. ``tag`` goes into the meta only:
    two tags give two files with the same models."""
    started = time.perf_counter()
    rng = np.random.default_rng(random_state)
    if fitted is None:
        centres = rng.standard_normal((max(models // 500, 10), factors)).astype(np.float32)
        vectors = centres[rng.integers(0, len(centres), models)]
        vectors += rng.standard_normal((models, factors), dtype=np.float32)
    else:
        factors = fitted.shape[1]
        vectors = fitted[np.arange(models) % len(fitted)].astype(np.float32)
        scale = noise * float(fitted.std())
        vectors += scale * rng.standard_normal((models, factors), dtype=np.float32)
    mids = np.array([f"{i:032x}" for i in rng.permutation(models * 7)[:models]])
    words = np.array(WORDS + [f"{w}{i}" for i in range(200) for w in WORDS[:20]])
    names = words[rng.integers(0, len(words), models)]
    for _ in range(2):
        names = np.char.add(np.char.add(names, " "), words[rng.integers(0, len(words), models)])
    counts = np.minimum(rng.zipf(1.8, models), 5000).astype(np.int64)
    counts = np.maximum(1, counts * likes_per_model // max(1, int(counts.mean())))
    users = max(1000, models // 4)
    indptr = np.concatenate([[0], np.cumsum(counts)])
    indices = rng.integers(0, users, int(indptr[-1]), dtype=np.int64)
    by_model = sp.csr_matrix((np.ones(len(indices), np.float32), indices, indptr), (models, users))
    by_model.sum_duplicates()
    dataset = {"path": f"synthetic {tag}", "sha256": "0" * 64, "users": users, "models": models}
    meta = artifact.build_meta(Params(factors=factors), 1, {**dataset, "likes": by_model.nnz})
    artifact.save_model(path, vectors, mids, names, by_model.T.tocsr(), meta)
    return time.perf_counter() - started


def fitted_artifact(path, fitted, repeat, noise, random_state=0):
    """Serve the artifact ``fitted`` at ``path``: a link to it, or ``repeat`` copies of its
    models (new hex mids, the originals' names and likes), each copy after the first moved
    by gaussian noise of ``noise`` times the vectors' spread; returns seconds to write."""
    started = time.perf_counter()
    if repeat == 1:
        os.symlink(os.path.abspath(fitted), path)
        return 0.0
    model = artifact.open_model(fitted, check_content=False)
    base = np.asarray(model.item_factors, dtype=np.float32)
    rng = np.random.default_rng(random_state)
    spread = np.float32(noise * base.std())
    noisy = (
        base + spread * rng.standard_normal(base.shape, dtype=np.float32) for _ in range(1, repeat)
    )
    vectors = np.concatenate([base, *noisy])
    n = len(base)
    counts = np.tile(np.diff(model.likes_indptr), repeat)
    meta = {**model.meta, "dataset": {**model.meta["dataset"], "models": n * repeat}}
    artifact.write_model(
        path,
        vectors,
        np.array([f"{i:032x}" for i in range(n * repeat)]),
        np.tile(model.names, repeat),
        np.concatenate([[0], np.cumsum(counts)]),
        np.tile(model.likes_indices, repeat),
        meta,
    )
    return time.perf_counter() - started


def peak_rss_mib():
    """This process's peak RSS since its exec (``VmHWM``): ``ru_maxrss`` would also count the
    pages of the parent it was forked from (Linux keeps their high-water mark over exec)."""
    with open("/proc/self/status") as f:
        line = next(line for line in f if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def child_index(path):
    """In a fresh process: ``python -m training index PATH``; its seconds and peak RSS."""
    from training.cli import main

    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()) as out:
        status = main(["index", path])
    if status:
        raise SystemExit(status)
    seconds = time.perf_counter() - started
    folder, calibration = out.getvalue().strip().split("\n", 1)
    found = {"seconds": seconds, "peak_mib": peak_rss_mib(), "calibration": calibration}
    print(json.dumps({**found, "folder": folder}))


def in_child(*args):
    """Run this script with ``args`` in a fresh process; the JSON it prints."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.scale", *args], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


def child_load(mode, path):
    """In a fresh process: load like the web app did (reference) or does (mapped)."""
    threadpool_limits(1, "blas")
    process = psutil.Process()
    started = time.perf_counter()
    if mode == "mapped":
        from webapp.serving.catalog import Catalog

        catalog = Catalog.open(path, file_sha256(path), ann_threshold=10**12)
        unit = catalog.neighbours.vectors  # the synthetic artifacts are cosine: unit vectors
    else:  # the catalogue before the serving files: bytes read, np.load copies, lists, a dict
        with open(path, "rb") as f:
            data = f.read()
        hashlib.sha256(data).hexdigest()
        model = artifact.load_model(io.BytesIO(data))
        del data
        unit = similarity.scaled(model.item_factors, similarity.COSINE)
        mids, names = model.mids.tolist(), model.names.tolist()
        row_of = {mid: row for row, mid in enumerate(mids)}
        folded = [name.casefold() for name in names]
        popular = np.argsort(-model.like_counts, kind="stable")
        keep = (model.model_users, row_of, folded, popular)  # noqa: F841 - held, as the app did
    seconds = time.perf_counter() - started
    rng = np.random.default_rng(1)
    for row in rng.integers(0, len(unit), 200):
        scores = unit @ unit[row]
        np.argpartition(scores, -10)[-10:]
    steady = process.memory_info().rss / 2**20
    print(json.dumps({"seconds": seconds, "steady_mib": steady, "peak_mib": peak_rss_mib()}))


def start_gunicorn(path, port, workers, ann_threshold=None):
    env = {**os.environ, "SKETCHREC_MODEL_PATH": path, "SKETCHREC_OFFLINE": "true"}
    if ann_threshold is not None:
        env["SKETCHREC_ANN_THRESHOLD"] = str(ann_threshold)
    command = [
        os.path.join(os.path.dirname(sys.executable), "gunicorn"),
        *("--workers", str(workers), "--worker-class", "gthread", "--threads", "4"),
        *("--bind", f"127.0.0.1:{port}", "--log-level", "warning", "--timeout", "600"),
        "webapp:create_app()",
    ]
    return subprocess.Popen(command, env=env), " ".join(command[1:])


def worker_memory(server):
    """RSS, PSS, USS (MiB) of each worker of the gunicorn ``server`` process, and the five
    mappings with the most RSS in each."""
    rows = []
    for child in psutil.Process(server.pid).children():
        info = child.memory_full_info()
        maps = sorted(child.memory_maps(grouped=True), key=lambda m: -m.rss)[:5]
        rows.append(
            {
                **{k: round(getattr(info, k) / 2**20, 1) for k in ("rss", "pss", "uss")},
                "top_maps_mib": {os.path.basename(m.path): round(m.rss / 2**20) for m in maps},
            }
        )
    return rows


def requests_for(mids, words, count, rng):
    urls = [f"/api/models/{mid}/similar?k=10" for mid in rng.choice(mids, count)]
    urls += [f"/search?q={w}" for w in rng.choice(words, count // 4)]
    return urls


def gunicorn_memory(path, workers, mids, words, exact_lists, rng, ann_threshold=None):
    """Per-worker memory after a bounded warm-up of similar and search requests; then the
    similar requests' latency on one kept-alive connection and their lists' recall@10 against
    ``exact_lists`` ({mid: exact mids}); ``/healthz``'s neighbours."""
    port = free_port()
    server, command = start_gunicorn(path, port, workers, ann_threshold)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, seconds=900)
        # A connection per request: each accept is open to every worker, so all of them serve
        # (kept-alive connections stayed with whichever worker took them, often the same one).
        for url in requests_for(mids, words, 400 * workers, rng):
            requests.get(base + url, headers={"Connection": "close"}).raise_for_status()
        session, seconds, hits = requests.Session(), [], []
        for mid, exact in exact_lists.items():
            started = time.perf_counter()
            answer = session.get(f"{base}/api/models/{mid}/similar?k=10")
            seconds.append(time.perf_counter() - started)
            hits.append(len({s["mid"] for s in answer.json()["similar"]} & set(exact)) / 10)
        time.sleep(1)
        return {
            "command": f"gunicorn {command}",
            "workers": worker_memory(server),
            "similar_http": {**millis(seconds), "recall_at_10": round(float(np.mean(hits)), 4)},
            "healthz_neighbours": session.get(base + "/healthz").json()["model"]["neighbours"],
        }
    finally:
        server.terminate()
        server.wait(30)


def time_queries(catalog, rows, exact):
    """Per-query wall and CPU seconds of the similar query; the lists."""
    from training.core import ann_index
    from training.core.neighbours import similar_rows

    index = catalog.neighbours
    walls, cpus, lists = [], [], []
    for row in rows:
        wall, cpu = time.perf_counter(), time.process_time()
        if exact:
            found, _ = similar_rows(index.vectors, index.norms, index.exponent, row, 10)
        else:
            query = index.vectors[row]  # cosine: the unit vector is the query
            found, _ = ann_index.similar_rows(index.ann, index.vectors, query, row, 10)
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
        lists.append(found)
    return walls, cpus, lists


def millis(samples):
    q = np.percentile(samples, [50, 99]) * 1000
    return {"p50_ms": round(float(q[0]), 3), "p99_ms": round(float(q[1]), 3)}


def neighbour_queries(catalog, queries, rng):
    """Exact against approximate similar lists on ``queries`` random rows; also ``{mid: exact
    mids}`` of the first 200 rows, for the HTTP runs."""
    rows = rng.integers(0, len(catalog), queries)
    e_wall, e_cpu, exact = time_queries(catalog, rows, exact=True)
    found = {"queries": queries, "exact_wall": millis(e_wall), "exact_cpu": millis(e_cpu)}
    found["calibration"] = catalog.neighbour_search()
    firsts = zip(rows[:200], exact[:200], strict=True)
    lists = {str(catalog.mids[r]): [str(catalog.mids[x]) for x in e] for r, e in firsts}
    if catalog.neighbours.ann is None:
        return found, lists  # the calibration chose the exact search
    a_wall, a_cpu, approx = time_queries(catalog, rows, exact=False)
    recall = np.mean([len(np.intersect1d(a, e)) / 10 for a, e in zip(approx, exact, strict=True)])
    return {
        **found,
        "ann_wall": millis(a_wall),
        "ann_cpu": millis(a_cpu),
        "recall_at_10": round(float(recall), 4),
        "within_1e-3_of_10th": near_tie_share(catalog, rows, approx),
    }, lists


def near_tie_share(catalog, rows, lists):
    """Share of the served 10 scoring within 1e-3 of the exact 10th score: a list can miss
    exact neighbours and still be as good when the scores are tied."""
    from training.core.neighbours import similar_rows

    good = []
    for row, found in zip(rows, lists, strict=True):
        _, exact = similar_rows(
            catalog.neighbours.vectors, catalog.neighbours.norms, catalog.exponent, row, 10
        )
        scores = catalog.neighbours.vectors[found] @ catalog.neighbours.vectors[row]
        good.append(np.count_nonzero(scores >= exact[-1] - 1e-3) / 10)
    return round(float(np.mean(good)), 4)


def name_search(catalog, rng):
    """Index (count + first page) against the Python scan, per kind of query."""
    kinds = {
        "word": list(rng.choice(WORDS, 30)),
        "rare": [f"{w}17" for w in rng.choice(WORDS[:20], 30)],
        "two chars": ["ca", "kn", "zq", "17"],
        "one char": ["a", "k", "7", "é"],
        "miss": ["zzzzqq", "no such model", "xyzzy"],
    }
    result = {}
    for kind, texts in kinds.items():
        times = []
        for text in texts:
            started = time.perf_counter()
            matches = catalog.search(text)
            len(matches), matches[0:48]
            times.append(time.perf_counter() - started)
        result[kind] = millis(times)
    folded = [str(name).casefold() for name in catalog.names]
    popular = catalog.popular.tolist()
    times = []
    for text in kinds["word"][:3]:
        started = time.perf_counter()
        [row for row in popular if text in folded[row]]
        times.append(time.perf_counter() - started)
    result["reference scan (word)"] = millis(times)
    return result


def reload_stall(path, other, mids, rng):
    """Similar-request latency on 2 workers before and while a changed artifact loads."""
    port = free_port()
    server, _ = start_gunicorn(path, port, 2)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, seconds=900)
        session = requests.Session()
        urls = [f"{base}/api/models/{mid}/similar?k=10" for mid in rng.choice(mids, 3000)]

        def timed(url):
            started = time.perf_counter()
            session.get(url).raise_for_status()
            return time.perf_counter() - started

        before = [timed(url) for url in urls[:300]]
        old_sha = session.get(base + "/healthz").json()["model"]["sha256"]
        shutil.copyfile(other, path + ".tmp")
        os.replace(path + ".tmp", path)
        started, during, url_cycle = time.perf_counter(), [], itertools.cycle(urls[300:])
        while time.perf_counter() - started < RELOAD_SECONDS:
            during.append(timed(next(url_cycle)))
            if session.get(base + "/healthz").json()["model"]["sha256"] != old_sha:
                break
        return {
            "before": millis(before),
            "during": {**millis(during), "max_ms": round(max(during) * 1000, 1)},
            "requests_during": len(during),
            "reload_seconds": round(time.perf_counter() - started, 1),
            "new_model_served": time.perf_counter() - started < RELOAD_SECONDS,
        }
    finally:
        server.terminate()
        server.wait(30)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=1_000_000)
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--likes-per-model", type=int, default=10)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--fitted", metavar="MODEL.npz", help="vectors from a fitted artifact")
    parser.add_argument("--noise", type=float, default=0.01, help="with --fitted, of their spread")
    parser.add_argument("--repeat", type=int, help="serve --fitted itself, in this many copies")
    parser.add_argument("--skip", default="", help="comma list of: gunicorn,reload,reference")
    parser.add_argument("--child-load", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--child-index", metavar="PATH", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_load:
        return child_load(*args.child_load)
    if args.child_index:
        return child_index(args.child_index)
    skip = set(filter(None, args.skip.split(",")))
    os.makedirs(OUT, exist_ok=True)
    folder = tempfile.mkdtemp(prefix="scale-", dir=OUT)
    rng = np.random.default_rng(0)
    r = {"machine": f"{os.cpu_count()} CPUs, {platform.python_version()}", "models": args.models}
    try:
        path = os.path.join(folder, "active.npz")
        fitted = None
        if args.repeat:
            skip.add("reload")  # the reload swaps in a second synthetic artifact
            write = fitted_artifact(path, args.fitted, args.repeat, args.noise)
            r["models"] = len(artifact.open_model(path, check_content=False).mids)
            r["fitted"] = {"path": args.fitted, "repeat": args.repeat, "noise": args.noise}
        else:
            if args.fitted:
                fitted = np.asarray(artifact.load_model(args.fitted).item_factors, np.float32)
                r["fitted"] = {"path": args.fitted, "rows": len(fitted), "noise": args.noise}
            write = synthetic_artifact(
                path,
                args.models,
                args.factors,
                args.likes_per_model,
                fitted=fitted,
                noise=args.noise,
            )
        r["write_seconds"] = round(write, 1)
        r["artifact_mib"] = round(os.path.getsize(path) / 2**20)
        r["index"] = in_child("--child-index", path)
        files = os.scandir(r["index"].pop("folder").strip())
        r["index"]["files_mib"] = {e.name: round(e.stat().st_size / 2**20) for e in files}
        print(json.dumps(r), flush=True)
        r["load_mapped"] = in_child("--child-load", "mapped", path)
        if "reference" not in skip:
            r["load_reference"] = in_child("--child-load", "reference", path)
        print(json.dumps(r), flush=True)
        from webapp.serving.catalog import Catalog

        threadpool_limits(1, "blas")
        catalog = Catalog.open(path, file_sha256(path), ann_threshold=1)
        r["neighbours"], exact_lists = neighbour_queries(catalog, args.queries, rng)
        r["name_search"] = name_search(catalog, rng)
        mids = np.asarray(catalog.mids[:100_000])
        del catalog
        print(json.dumps(r), flush=True)
        if "gunicorn" not in skip:
            r["gunicorn"] = {
                n: gunicorn_memory(path, int(n), mids, WORDS, exact_lists, rng)
                for n in args.workers.split(",")
            }
            # The same requests answered by the exact search, for reference.
            r["gunicorn"]["2, exact search"] = gunicorn_memory(
                path, 2, mids, WORDS, exact_lists, rng, ann_threshold=10**12
            )
            print(json.dumps(r), flush=True)
        if "reload" not in skip:
            other = os.path.join(folder, "other.npz")
            synthetic_artifact(
                other, args.models, args.factors, args.likes_per_model, "b", 0, fitted, args.noise
            )
            r["reload"] = reload_stall(path, other, mids, rng)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    name = f"scale-{r['models']}{'-fitted' if args.fitted else ''}.json"
    with open(os.path.join(OUT, name), "w") as f:
        json.dump(r, f, indent=1)
    print(json.dumps(r, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
