"""Approximate neighbours for large catalogues: a faiss IVF-Flat index on the served vectors.

IVF-Flat clusters the vectors (k-means, :func:`list_count` lists) and a
query scans only the ``nprobe`` lists whose centroids score highest, over
the full float32 vectors: no quantisation, so every candidate's score is
exact and recall is lost only to clusters not probed. Lists are many
(about ``8 * sqrt(n)``) so that each is short and few vectors are scanned
per query; the centroids are then too many for plain k-means and a flat
scan of them, so they are trained in two levels (k-means into
``sqrt(lists)`` groups, then each group into its share of lists) and
looked up through an HNSW graph (the coarse quantizer), both when the
vectors are added and when a query picks its lists. The metric is the
inner product on the vectors as stored, which is the cosine for unit
vectors and stays right for any ranking of the form ``query . stored``
(the similarity exponent stores ``y / |y| ** e`` and queries with ``y``).

``nprobe`` is chosen at build time: the smallest power of two whose recall
at 10 on sampled rows, against an exact search, reaches the target. It is
saved in the index file (with the quantizer's search depth), which is read
back memory-mapped (``IO_FLAG_MMAP``): the lists stay in the page cache,
shared by every process that serves the same file. The flag maps only the
lists; the quantizer (centroids and their graph, about 0.5 KiB per list at
64 factors) is read into each process.

faiss is imported on first use: it is an optional dependency (extra
``scale``) and small catalogues never need it.
"""

import numpy as np

from .atomic import atomic_path

CALIBRATION_ROWS = 256  # sampled query rows for choosing nprobe
CALIBRATION_K = 10
TRAINING_PER_LIST = 64  # k-means sample: this many vectors per list
TARGET_RECALL = 0.97  # margin over the 0.95 asked of the served index
LISTS_PER_ROOT = 8  # lists per sqrt(n): short lists keep the scan per query small
HNSW_LINKS = 32  # graph degree of the coarse quantizer
HNSW_EF_ADD = 64  # candidate list of the coarse quantizer when assigning a vector its list:
# below 64, vectors land in a list whose centroid is not the nearest and recall drops
HNSW_EF = 128  # ... when a query picks its lists: at least nprobe, saved in the file


def _faiss():
    import faiss

    return faiss


def list_count(n):
    """IVF lists for ``n`` vectors: the power of two nearest ``8 * sqrt(n)``, at most ``n / 39``
    (faiss wants 39 training points per centroid)."""
    target = max(1.0, min(LISTS_PER_ROOT * np.sqrt(n), n / 39))
    return int(2 ** round(np.log2(target)))


def build(vectors, random_state=0, target_recall=TARGET_RECALL):
    """An IVF-Flat inner-product index over ``vectors`` (float32 [n, f]), ``nprobe`` calibrated.

    Returns ``(index, recall)``: the faiss index (ids are row numbers) and
    the recall at 10 that the chosen ``nprobe`` reached on the sample.
    """
    faiss = _faiss()
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, factors = vectors.shape
    rng = np.random.default_rng(random_state)
    lists = list_count(n)
    quantizer = faiss.IndexHNSWFlat(factors, HNSW_LINKS, faiss.METRIC_INNER_PRODUCT)
    index = faiss.IndexIVFFlat(quantizer, factors, lists, faiss.METRIC_INNER_PRODUCT)
    sample = np.sort(rng.choice(n, min(n, TRAINING_PER_LIST * lists), replace=False))
    quantizer.add(centroids(vectors[sample], lists, random_state))
    index.is_trained = True  # IVF-Flat has nothing to train past its quantizer
    quantizer.hnsw.efSearch = HNSW_EF_ADD
    index.add(vectors)
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


def calibrate(index, vectors, rng, target_recall):
    """Set ``index.nprobe`` to the smallest power of two reaching ``target_recall``; its recall."""
    faiss = _faiss()
    rows = rng.choice(len(vectors), min(len(vectors), CALIBRATION_ROWS), replace=False)
    k = min(CALIBRATION_K, len(vectors) - 1)
    _, exact = faiss.knn(vectors[rows], vectors, k + 1, metric=faiss.METRIC_INNER_PRODUCT)
    truth = [_without(found, row)[:k] for found, row in zip(exact, rows, strict=True)]
    quantizer = faiss.downcast_index(index.quantizer)
    index.nprobe = 1
    while True:
        quantizer.hnsw.efSearch = max(HNSW_EF, index.nprobe)
        _, found = index.search(vectors[rows], k + 1)
        recall = np.mean(
            [
                len(np.intersect1d(_without(f, row)[:k], t)) / max(k, 1)
                for f, row, t in zip(found, rows, truth, strict=True)
            ]
        )
        if recall >= target_recall or index.nprobe >= index.nlist:
            return float(recall)
        index.nprobe = min(2 * index.nprobe, index.nlist)


def _without(found, row):
    return found[(found != row) & (found >= 0)]


def save(index, path):
    """Write ``index`` to ``path`` atomically."""
    with atomic_path(path, suffix=".faiss") as tmp:
        _faiss().write_index(index, tmp)


def load(path):
    """The index at ``path``, its lists memory-mapped read-only.

    Also limits faiss to one OpenMP thread: request threads run queries side
    by side, as with BLAS in the web app.
    """
    faiss = _faiss()
    faiss.omp_set_num_threads(1)
    return faiss.read_index(path, faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)


def similar_rows(index, vectors, query, row, k):
    """Approximately the ``k`` rows scoring highest against ``query``, never ``row``.

    ``query`` float32 [f] (the vector ``row`` queries with), ``vectors`` the
    indexed float32 [n, f]. Scores are recomputed from ``vectors`` so they
    match the exact search's (to float rounding); returns ``(rows, scores)`` like
    :func:`webapp.serving.neighbours.similar_rows`, best first, equal scores
    by row, possibly fewer than ``k`` when the probed lists hold fewer.
    """
    _, found = index.search(np.ascontiguousarray(query, dtype=np.float32)[None, :], k + 1)
    rows = _without(found[0], row)[:k].astype(np.int64)
    scores = vectors[rows] @ query
    order = np.lexsort((rows, -scores))
    return rows[order], scores[order]
