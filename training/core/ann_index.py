"""Approximate neighbours for large catalogues: a faiss IVF index of fast-scan PQ codes.

The vectors are clustered (k-means, :func:`list_count` lists) and a query
scans only the ``nprobe`` lists whose centroids score highest. Inside a
list each vector is a product-quantisation code of 4 bits per pair of
factors (faiss "fast scan", scored with SIMD table look-ups), so a scan is
cheap but its scores are rough: the best ``REFINE`` x ``k`` candidates are
scored again exactly on the served vectors (:func:`similar_rows`), and
recall is lost only to clusters not probed and to true neighbours the codes
rank below the candidates. Lists are many (about ``8 * sqrt(n)``) so that
each is short; their centroids are trained in two levels (k-means into
``sqrt(lists)`` groups, then each group into its share of lists) and are
looked up by a flat scan: every vector gets its nearest list, and a query
finds hundreds of lists faster than a graph would. The metric is the inner
product on the vectors as stored, which is the cosine for unit vectors and
stays right for any ranking of the form ``query . stored`` (the similarity
exponent stores ``y / |y| ** e`` and queries with ``y``).

``nprobe`` is chosen at build time: the smallest step of 1, 2, 3, 4, 6,
8, 12, ... whose recall at 10 on sampled rows, against an exact search,
reaches the target. It is saved in the index file. faiss reads fast-scan
lists into each process (it can map only flat lists): about 24 bytes per
model at 64 factors (16 of code, 8 of id) and a centroid per list, beside the vectors,
which stay memory-mapped and shared.

faiss is imported on first use: it is an optional dependency (extra
``scale``) and small catalogues never need it.
"""

import numpy as np

from .atomic import atomic_path

CALIBRATION_ROWS = 256  # sampled query rows for choosing nprobe
CALIBRATION_K = 10
TRAINING_PER_LIST = 64  # k-means sample: this many vectors per list
PQ_TRAINING_ROWS = 65_536  # 16 centroids per sub-quantiser need few
TARGET_RECALL = 0.97  # margin over the 0.95 asked of the served index
LISTS_PER_ROOT = 8  # lists per sqrt(n): short lists keep the scan per query small
REFINE = 30  # candidates per wanted neighbour, scored exactly: the codes rank roughly
ADD_BATCH = 262_144  # vectors assigned to their lists at a time: bounds the score matrix


def _faiss():
    import faiss

    return faiss


def list_count(n):
    """IVF lists for ``n`` vectors: the power of two nearest ``8 * sqrt(n)``, at most ``n / 39``
    (faiss wants 39 training points per centroid)."""
    target = max(1.0, min(LISTS_PER_ROOT * np.sqrt(n), n / 39))
    return int(2 ** round(np.log2(target)))


def build(vectors, random_state=0, target_recall=TARGET_RECALL):
    """An IVF fast-scan PQ inner-product index over ``vectors`` (float32 [n, f]), calibrated.

    Returns ``(index, recall)``: the faiss index (ids are row numbers) and
    the recall at 10 that the chosen ``nprobe`` reached on the sample, with
    the exact re-scoring of :func:`similar_rows`.
    """
    faiss = _faiss()
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, factors = vectors.shape
    rng = np.random.default_rng(random_state)
    lists = list_count(n)
    sample = np.sort(rng.choice(n, min(n, TRAINING_PER_LIST * lists), replace=False))
    quantizer = faiss.IndexFlatIP(factors)
    quantizer.add(centroids(vectors[sample], lists, random_state))
    # Two factors per 4-bit code where they pair up; one each otherwise.
    codes = factors // 2 if factors % 2 == 0 else factors
    metric = faiss.METRIC_INNER_PRODUCT
    index = faiss.IndexIVFPQFastScan(quantizer, factors, lists, codes, 4, metric)
    index.own_fields = True
    quantizer.this.disown()  # the index frees it
    # The PQ only (the quantizer is full), on rows spread over the whole sample.
    index.train(vectors[sample[:: max(1, len(sample) // PQ_TRAINING_ROWS)]])
    for start in range(0, n, ADD_BATCH):
        index.add(vectors[start : start + ADD_BATCH])
    recall = calibrate(index, vectors, rng, target_recall)
    return index, recall


def centroids(sample, lists, random_state):
    """``lists`` spherical k-means centroids of ``sample`` (float32 [m, f]), in two levels."""
    from faiss.contrib.clustering import two_level_clustering

    faiss = _faiss()
    groups = max(1, round(np.sqrt(lists)))
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)  # thousands of small k-means: threads only wait for each other
    try:
        found, _ = two_level_clustering(
            sample, groups, lists, spherical=True, seed=random_state, verbose=False
        )
    finally:
        faiss.omp_set_num_threads(threads)
    return np.ascontiguousarray(found, dtype=np.float32)


def probe_steps(lists):
    """Candidate ``nprobe`` values, ascending: 1, 2, 3, 4, 6, 8, 12, ... up to ``lists``."""
    steps = sorted({s for p in range(int(np.log2(lists)) + 1) for s in (2**p, 3 * 2**p // 2)})
    return [s for s in steps if s < lists] + [lists]


def calibrate(index, vectors, rng, target_recall):
    """Set ``index.nprobe`` to the first of :func:`probe_steps` reaching ``target_recall``;
    returns the recall reached."""
    faiss = _faiss()
    rows = rng.choice(len(vectors), min(len(vectors), CALIBRATION_ROWS), replace=False)
    k = min(CALIBRATION_K, len(vectors) - 1)
    _, exact = faiss.knn(vectors[rows], vectors, k + 1, metric=faiss.METRIC_INNER_PRODUCT)
    truth = [_without(found, row)[:k] for found, row in zip(exact, rows, strict=True)]
    for nprobe in probe_steps(index.nlist):
        index.nprobe = nprobe
        hits = [
            len(np.intersect1d(similar_rows(index, vectors, vectors[row], row, k)[0], t))
            for row, t in zip(rows, truth, strict=True)
        ]
        recall = np.mean(hits) / max(k, 1)
        if recall >= target_recall:
            break
    return float(recall)


def _without(found, row):
    return found[(found != row) & (found >= 0)]


def save(index, path):
    """Write ``index`` to ``path`` atomically."""
    with atomic_path(path, suffix=".faiss") as tmp:
        _faiss().write_index(index, tmp)


def load(path):
    """The index at ``path``, read-only; flat lists (files written before the fast-scan
    codes) stay memory-mapped.

    Also limits faiss to one OpenMP thread: request threads run queries side
    by side, as with BLAS in the web app.
    """
    faiss = _faiss()
    faiss.omp_set_num_threads(1)
    return faiss.read_index(path, faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)


def similar_rows(index, vectors, query, row, k):
    """Approximately the ``k`` rows scoring highest against ``query``, never ``row``.

    ``query`` float32 [f] (the vector ``row`` queries with), ``vectors`` the
    indexed float32 [n, f]. The index proposes ``REFINE * (k + 1)``
    candidates and they are ranked by their exact scores on ``vectors``, so
    the scores match the exact search's (to float rounding); returns ``(rows, scores)`` like
    :func:`training.core.neighbours.similar_rows`, best first, equal scores
    by row, possibly fewer than ``k`` when the probed lists hold fewer.
    """
    query = np.ascontiguousarray(query, dtype=np.float32)
    _, found = index.search(query[None, :], min(REFINE * (k + 1), index.ntotal))
    rows = np.unique(_without(found[0], row)).astype(np.int64)
    scores = vectors[rows] @ query
    order = np.lexsort((rows, -scores))[:k]
    return rows[order], scores[order]
