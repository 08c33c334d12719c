"""Approximate neighbours for large catalogues: a faiss IVF index of 8-bit codes, calibrated.

The vectors are clustered (k-means, :func:`list_count` lists) and a query
scans only the ``nprobe`` lists whose centroids score highest. Inside a
list each vector is an 8-bit scalar code per factor (faiss
``IndexIVFScalarQuantizer``), close enough to order neighbours whose scores
nearly tie, as those of vectors fitted from likes do; the best
``candidates x (k + 1)`` rows are scored again exactly on the served
vectors (:func:`similar_rows`), so the scores shown are the exact ones.
Lists are many (about ``8 * sqrt(n)``) so that each is short; their
centroids are trained in two levels (k-means into ``sqrt(lists)`` groups,
then each group into its share of lists) and are looked up by a flat scan:
every vector gets its nearest list. The metric is the inner product on the
vectors as stored, which is the cosine for unit vectors and stays right for
any ranking of the form ``query . stored`` (the similarity exponent stores
``y / |y| ** e`` and queries with ``y``).

``nprobe`` and the candidates per neighbour are chosen at build time
(:func:`calibrate`): the cheapest pair in CPU per query whose recall at 10
on sampled rows, against the exact search, reaches the target, within a
CPU budget; the result, a :class:`training.ann_calibration.Calibration`, is
saved beside the index, and when no pair qualifies the exact search serves.
faiss maps the lists of codes read-only (:func:`load`): about 40 bytes per
model at 32 factors (32 of code, 8 of id), shared by every worker.

faiss is imported on first use: it is an optional dependency (extra
``scale``) and small catalogues never need it.
"""

import numpy as np

from . import ann_calibration
from .ann_calibration import BUDGET_SHARE
from .atomic import atomic_path

CALIBRATION_ROWS = 256  # sampled query rows for choosing the settings
CALIBRATION_K = 10
TRAINING_PER_LIST = 64  # k-means sample: this many vectors per list
CODE_TRAINING_ROWS = 65_536  # codes need few rows to train
TARGET_RECALL = 0.97  # margin over the 0.95 asked of the served index
LISTS_PER_ROOT = 8  # lists per sqrt(n): short lists keep the scan per query small
CANDIDATES = (1, 2, 3, 5, 10, 30)  # candidates per wanted neighbour, re-scored exactly
ADD_BATCH = 262_144  # vectors assigned to their lists at a time: bounds the score matrix


def _faiss():
    import faiss

    return faiss


def list_count(n):
    """IVF lists for ``n`` vectors: the power of two nearest ``8 * sqrt(n)``, at most ``n / 39``
    (faiss wants 39 training points per centroid)."""
    target = max(1.0, min(LISTS_PER_ROOT * np.sqrt(n), n / 39))
    return int(2 ** round(np.log2(target)))


def build(vectors, random_state=0, target_recall=TARGET_RECALL, budget_share=BUDGET_SHARE):
    """An IVF inner-product index of 8-bit codes over ``vectors`` (float32 [n, f]), calibrated.

    Returns ``(index, calibration)``: the faiss index (ids are row numbers,
    ``nprobe`` set) and its :class:`training.ann_calibration.Calibration`,
    which says whether it serves and with how many candidates.
    """
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    rng = np.random.default_rng(random_state)
    index = ivf(vectors, scalar_codes, rng, random_state)
    return index, calibrate(index, vectors, rng, target_recall, budget_share)


def scalar_codes(quantizer, factors, lists):
    """An empty IVF index of 8-bit scalar codes, one per factor, on ``quantizer``."""
    faiss = _faiss()
    return faiss.IndexIVFScalarQuantizer(
        quantizer, factors, lists, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
    )


def ivf(vectors, make, rng, random_state=0):
    """An IVF index over ``vectors`` (float32 [n, f]) of the codes ``make(quantizer, factors,
    lists)`` makes, :func:`list_count` lists from :func:`centroids`; ids are row numbers."""
    faiss = _faiss()
    n, factors = vectors.shape
    lists = list_count(n)
    sample = np.sort(rng.choice(n, min(n, TRAINING_PER_LIST * lists), replace=False))
    quantizer = faiss.IndexFlatIP(factors)
    quantizer.add(centroids(vectors[sample], lists, random_state))
    index = make(quantizer, factors, lists)
    index.own_fields = True
    quantizer.this.disown()  # the index frees it
    # The codes only (the quantizer is full), on rows spread over the whole sample.
    index.train(vectors[sample[:: max(1, len(sample) // CODE_TRAINING_ROWS)]])
    for start in range(0, n, ADD_BATCH):
        index.add(vectors[start : start + ADD_BATCH])
    return index


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


def calibrate(index, vectors, rng, target_recall, budget_share):
    """The cheapest ``nprobe`` and candidates per neighbour reaching ``target_recall``.

    For each of :data:`CANDIDATES`, ``nprobe`` goes up :func:`probe_steps`
    until the recall at 10 on sampled rows reaches the target; a step over
    the CPU budget (``budget_share`` of the exact search's time) ends the
    climb. Of the settings that reached it, the one with the least CPU per
    query is set on ``index`` and returned as an approximate
    :class:`~training.ann_calibration.Calibration`; without one, an exact one.
    """
    rows = rng.choice(len(vectors), min(len(vectors), CALIBRATION_ROWS), replace=False)
    sample = ann_calibration.Sample(vectors, rows, min(CALIBRATION_K, len(vectors) - 1))
    budget = sample.exact_cpu_ms * budget_share
    reached, best = [], (0.0, 0.0, {})  # (recall, cpu_ms, settings); best: within the budget
    threads = _faiss().omp_get_max_threads()
    _faiss().omp_set_num_threads(1)  # as served: one thread per query
    try:
        for candidates in CANDIDATES:
            for nprobe in probe_steps(index.nlist):
                if reached and nprobe >= reached[-1][2]["nprobe"]:
                    break  # fewer candidates got there with as few lists: more cost more
                index.nprobe = nprobe
                recall, cpu = sample.measure(_searcher(index, vectors, candidates))
                if cpu > budget:
                    break
                found = (recall, cpu, {"nprobe": nprobe, "candidates": candidates})
                best = max(best, found, key=lambda b: (b[0], -b[1]))
                if recall >= target_recall:
                    reached.append(found)
                    break
    finally:
        _faiss().omp_set_num_threads(threads)
    recall, cpu, settings = min(reached, key=lambda r: r[1]) if reached else best
    index.nprobe = settings.get("nprobe", index.nprobe)
    return ann_calibration.Calibration(
        search=ann_calibration.APPROXIMATE if reached else ann_calibration.EXACT,
        target_recall=target_recall,
        recall=round(float(recall), 4),
        cpu_ms=round(cpu, 4),
        exact_cpu_ms=round(sample.exact_cpu_ms, 4),
        budget_ms=round(budget, 4),
        queries=len(rows),
        index=f"IVF index of 8-bit codes, {index.nlist} lists",
        settings=settings,
    )


def _searcher(index, vectors, candidates):
    def search(query, row, k):
        return similar_rows(index, vectors, query, row, k, candidates)[0]

    return search


def _without(found, row):
    return found[(found != row) & (found >= 0)]


def save(index, path):
    """Write ``index`` to ``path`` atomically."""
    with atomic_path(path, suffix=".faiss") as tmp:
        _faiss().write_index(index, tmp)


def load(path):
    """The index at ``path``, read-only, its lists memory-mapped from the file.

    ``IO_FLAG_MMAP_IFC`` maps the lists in place (searched as if read);
    ``IO_FLAG_MMAP`` would wrap them in faiss's on-disk lists, which
    searched 12x slower. Also limits faiss to one OpenMP thread: request
    threads run queries side by side, as with BLAS in the web app.
    """
    faiss = _faiss()
    faiss.omp_set_num_threads(1)
    return faiss.read_index(path, faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY)


def similar_rows(index, vectors, query, row, k, candidates):
    """Approximately the ``k`` rows scoring highest against ``query``, never ``row``.

    ``query`` float32 [f] (the vector ``row`` queries with), ``vectors`` the
    indexed float32 [n, f]. The index proposes ``candidates * (k + 1)``
    rows and they are ranked by their exact scores on ``vectors``, so the
    scores match the exact search's (to float rounding); returns ``(rows, scores)`` like
    :func:`webapp.serving.neighbours.similar_rows`, best first, equal scores
    by row, possibly fewer than ``k`` when the probed lists hold fewer.
    """
    query = np.ascontiguousarray(query, dtype=np.float32)
    _, found = index.search(query[None, :], min(candidates * (k + 1), index.ntotal))
    rows = np.unique(_without(found[0], row)).astype(np.int64)
    scores = vectors[rows] @ query
    order = np.lexsort((rows, -scores))[:k]
    return rows[order], scores[order]
