"""Compare approximate neighbour indexes on the served vectors of an artifact.

Usage: ``.venv/bin/python -m bench.ann_indexes MODEL.npz [--queries 300] [--kinds ...]``

For each kind of index (faiss IVF fast-scan PQ, IVF with 8-bit scalar codes,
IVF-Flat, faiss HNSW-Flat, usearch HNSW with f16 or f32 vectors) and each
setting of its search parameters: recall@10 against the exact top 10 by the
artifact's score, the share of the 10 within 1e-3 of the exact 10th score,
CPU p50/p99 per single query (one thread, exact re-scoring of the
candidates on the served vectors included), build time and the index's
size in memory or on disk. The exact search of the web app is the first row.
Prints one JSON object per row; ``--out`` also writes them as a list.

usearch is not a dependency of the project (it lost this comparison): the
``usearch-f16`` and ``usearch-f32`` kinds need ``.venv/bin/pip install usearch``.
"""

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np
from threadpoolctl import threadpool_limits

from training.core import ann_index, similarity
from training.core.artifact import open_model
from training.core.top_k import ranked_top_k

K = 10
TIE = 1e-3


def served_vectors(path):
    """The artifact's vectors as the web app serves them (float32 [n, f])."""
    model = open_model(path, check_content=False)
    exponent = float(model.meta.get("similarity_exponent", similarity.COSINE))
    vectors, _ = similarity.neighbour_space(np.asarray(model.item_factors), exponent)
    return np.ascontiguousarray(vectors)


def truth(vectors, rows):
    """Exact top-K rows and scores of each query row (the row left out, ties by row)."""
    found, scores = [], []
    for row in rows:
        s = vectors @ vectors[row]
        s[row] = -np.inf
        top = ranked_top_k(s, K)
        found.append(top)
        scores.append(s[top])
    return found, scores


def rescored(vectors, query, candidates, row):
    candidates = np.unique(candidates[(candidates >= 0) & (candidates != row)])
    scores = vectors[candidates] @ query
    order = np.lexsort((candidates, -scores))[:K]
    return candidates[order], scores[order]


def measure(search, vectors, rows, exact_rows, exact_scores):
    """recall@10, share within TIE of the 10th exact score, CPU p50/p99 (ms) of ``search``."""
    cpus, hits, close = [], [], []
    for row, want, want_scores in zip(rows, exact_rows, exact_scores, strict=True):
        query = vectors[row]
        started = time.process_time()
        found = search(query, row)
        cpus.append(time.process_time() - started)
        hits.append(len(np.intersect1d(found, want)) / K)
        close.append(np.mean(vectors[found] @ query >= want_scores[-1] - TIE))
    p50, p99 = np.percentile(cpus, [50, 99]) * 1000
    return {
        "recall_at_10": round(float(np.mean(hits)), 4),
        "within_1e-3": round(float(np.mean(close)), 4),
        "cpu_p50_ms": round(float(p50), 3),
        "cpu_p99_ms": round(float(p99), 3),
    }


def exact_row(vectors, rows, exact_rows, exact_scores):
    def search(query, row):
        scores = vectors @ query
        scores[row] = -np.inf
        return ranked_top_k(scores, K)

    return {"kind": "exact (numpy)", **measure(search, vectors, rows, exact_rows, exact_scores)}


def ivf_rows(vectors, kind, grid, measure_on):
    """faiss IVF indexes on ``training.core.ann_index``'s lists, each kind of code."""
    import faiss

    def make(quantizer, factors, lists):
        if kind == "ivf-sq8":
            return ann_index.scalar_codes(quantizer, factors, lists)
        metric = faiss.METRIC_INNER_PRODUCT
        if kind == "ivf-fastscan":  # 4 bits per pair of factors, scanned with SIMD look-ups
            return faiss.IndexIVFPQFastScan(quantizer, factors, lists, factors // 2, 4, metric)
        return faiss.IndexIVFFlat(quantizer, factors, lists, metric)

    started = time.perf_counter()
    index = ann_index.ivf(vectors, make, np.random.default_rng(0))
    build = time.perf_counter() - started
    size = _faiss_bytes(index)
    faiss.omp_set_num_threads(1)
    out = []
    for nprobe, candidates in grid:
        index.nprobe = nprobe

        def search(query, row, c=candidates):
            _, found = index.search(query[None, :], c * (K + 1))
            return rescored(vectors, query, found[0], row)[0]

        row = {"kind": kind, "lists": index.nlist, "nprobe": nprobe}
        row["candidates_per_neighbour"] = candidates
        out.append({**row, **measure_on(search), "build_s": round(build, 1), "index_mib": size})
        print(json.dumps(out[-1]), flush=True)
    faiss.omp_set_num_threads(os.cpu_count())
    return out


def _faiss_bytes(index):
    import faiss

    with tempfile.NamedTemporaryFile(suffix=".faiss") as f:
        faiss.write_index(index, f.name)
        return round(os.path.getsize(f.name) / 2**20, 1)


def faiss_hnsw_rows(vectors, grid, measure_on, m=32):
    import faiss

    started = time.perf_counter()
    index = faiss.IndexHNSWFlat(vectors.shape[1], m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 40
    index.add(vectors)
    build = time.perf_counter() - started
    size = _faiss_bytes(index)
    faiss.omp_set_num_threads(1)
    out = []
    for ef, candidates in grid:
        index.hnsw.efSearch = max(ef, candidates)

        def search(query, row, c=candidates):
            _, found = index.search(query[None, :], c)
            return rescored(vectors, query, found[0], row)[0]

        row = {"kind": f"faiss-hnsw-flat M{m}", "ef_search": ef, "candidates": candidates}
        out.append({**row, **measure_on(search), "build_s": round(build, 1), "index_mib": size})
        print(json.dumps(out[-1]), flush=True)
    faiss.omp_set_num_threads(os.cpu_count())
    return out


def usearch_rows(vectors, dtype, grid, measure_on, connectivity=16):
    from usearch.index import Index

    started = time.perf_counter()
    index = Index(
        ndim=vectors.shape[1], metric="ip", dtype=dtype, connectivity=connectivity, expansion_add=64
    )
    index.add(np.arange(len(vectors), dtype=np.uint64), vectors)
    build = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "index.usearch")
        index.save(path)
        size = round(os.path.getsize(path) / 2**20, 1)
        del index
        viewed = Index.restore(path, view=True)
        out = []
        for ef, candidates in grid:
            viewed.expansion_search = max(ef, candidates)

            def search(query, row, c=candidates):
                found = viewed.search(query, c, threads=1).keys.astype(np.int64)
                return rescored(vectors, query, found, row)[0]

            kind = f"usearch {dtype} connectivity {connectivity}, viewed"
            row = {"kind": kind, "ef_search": ef, "candidates": candidates}
            out.append({**row, **measure_on(search), "build_s": round(build, 1), "index_mib": size})
            print(json.dumps(out[-1]), flush=True)
    return out


GRIDS = {
    "ivf-fastscan": [
        (16, 30),
        (64, 30),
        (16, 100),
        (32, 100),
        (64, 100),
        (128, 100),
        (3, 300),
        (16, 300),
        (64, 300),
    ],
    "ivf-sq8": [(8, 3), (16, 3), (32, 3), (64, 3), (128, 3)],
    "ivf-flat": [(8, 2), (16, 2), (32, 2), (64, 2), (128, 2)],
    "hnsw": [(16, 11), (32, 11), (32, 22), (64, 22), (64, 44), (128, 44)],
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", metavar="MODEL.npz")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument(
        "--kinds",
        default="exact,ivf-fastscan,ivf-sq8,ivf-flat,faiss-hnsw",
    )
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    threadpool_limits(1, "blas")
    vectors = served_vectors(args.model)
    rows = np.random.default_rng(1).choice(len(vectors), args.queries, replace=False)
    exact_rows, exact_scores = truth(vectors, rows)
    print(json.dumps({"model": args.model, "vectors": list(vectors.shape)}), flush=True)

    def measure_on(search):
        return measure(search, vectors, rows, exact_rows, exact_scores)

    results = []
    for kind in args.kinds.split(","):
        if kind == "exact":
            results.append(exact_row(vectors, rows, exact_rows, exact_scores))
            print(json.dumps(results[-1]), flush=True)
        elif kind.startswith("ivf"):
            results += ivf_rows(vectors, kind, GRIDS[kind], measure_on)
        elif kind == "faiss-hnsw":
            results += faiss_hnsw_rows(vectors, GRIDS["hnsw"], measure_on)
        elif kind.startswith("usearch"):
            results += usearch_rows(vectors, kind.split("-")[1], GRIDS["hnsw"], measure_on)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
