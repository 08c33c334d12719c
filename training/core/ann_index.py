"""Approximate neighbours for large catalogues: a faiss IVF index of 8-bit codes.

The vectors are clustered (k-means, :func:`list_count` lists) and a query
scans only the ``nprobe`` lists whose centroids score highest. Inside a
list each vector is an 8-bit scalar code per factor (faiss
``IndexIVFScalarQuantizer``), close enough to order neighbours whose scores
nearly tie, as those of vectors fitted from likes do (4-bit "fast-scan"
product codes could not: BENCHMARKS.md). The best ``refine`` x ``k``
candidates are scored again exactly on the served vectors
(:func:`similar_rows`), so the scores shown are the exact ones, and recall
is lost only to clusters not probed and to true neighbours the codes rank
below the candidates. Lists are many (about ``8 * sqrt(n)``) so that each
is short; their centroids are trained in two levels (k-means into
``sqrt(lists)`` groups, then each group into its share of lists) and are
looked up by a flat scan: every vector gets its nearest list, and a query
finds hundreds of lists faster than a graph would. The metric is the inner
product on the vectors as stored, which is the cosine for unit vectors and
stays right for any ranking of the form ``query . stored`` (the similarity
exponent stores ``y / |y| ** e`` and queries with ``y``).

Both ``nprobe`` and the candidate count are chosen at build time, on the
model's own vectors (:func:`calibrate`): for each candidate count of
:data:`REFINE_STEPS` the smallest ``nprobe`` of 1, 2, 3, 4, 6, 8, 12, ...
whose recall at 10 on sampled rows, against an exact search, reaches the
target, and of those the setting with the least CPU time per query. When no
setting reaches the target within :data:`CPU_BUDGET` times the exact
search's CPU time, :func:`build` returns no index and the model is served by
the exact search. The :class:`Calibration` is saved beside the index.
faiss maps the lists of codes from the file (:func:`load`): about 40 bytes
per model at 32 factors (32 of code, 8 of id), shared by every worker like
the vectors.

faiss is imported on first use: it is an optional dependency (extra
``scale``) and small catalogues never need it.
"""

import json
import time
from dataclasses import asdict, dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from .atomic import atomic_path, write_text
from .top_k import ranked_top_k

CALIBRATION_ROWS = 256  # sampled query rows for choosing nprobe
CALIBRATION_K = 10
TRAINING_PER_LIST = 64  # k-means sample: this many vectors per list
CODE_TRAINING_ROWS = 65_536  # codes need few rows to train
TARGET_RECALL = 0.97  # margin over the 0.95 asked of the served index
LISTS_PER_ROOT = 8  # lists per sqrt(n): short lists keep the scan per query small
REFINE_STEPS = (1, 2, 3, 5, 10, 30)  # candidates per wanted neighbour tried, scored exactly
CPU_BUDGET = 1.0  # an index is kept only if its query costs at most this many exact queries
FLAT_GAIN = 0.005  # recall gained by a larger nprobe below which more lists stop helping
ADD_BATCH = 262_144  # vectors assigned to their lists at a time: bounds the score matrix


def _faiss():
    import faiss

    return faiss


def list_count(n):
    """IVF lists for ``n`` vectors: the power of two nearest ``8 * sqrt(n)``, at most ``n / 39``
    (faiss wants 39 training points per centroid)."""
    target = max(1.0, min(LISTS_PER_ROOT * np.sqrt(n), n / 39))
    return int(2 ** round(np.log2(target)))


@dataclass(frozen=True)
class Approximate:
    """A calibrated index: the faiss index (its ``nprobe`` set) and the candidates per
    wanted neighbour (``refine``) that :func:`similar_rows` re-scores exactly."""

    index: object
    refine: int


@dataclass(frozen=True)
class Calibration:
    """What :func:`calibrate` measured and chose, saved beside the index (JSON).

    ``approximate`` False means no setting reached ``target`` recall at 10
    within ``CPU_BUDGET`` exact queries and the exact search serves; then
    ``recall``, ``nprobe`` and ``refine`` are those of the best recall seen.
    ``cpu_ms`` and ``exact_cpu_ms`` are CPU milliseconds per query (one
    thread) of the setting and of the exact search, on the same sampled rows.
    """

    approximate: bool
    target: float
    recall: float
    nprobe: int
    refine: int
    lists: int
    cpu_ms: float
    exact_cpu_ms: float

    def summary(self):
        """One line for logs and the ``index`` command."""
        if self.approximate:
            return (
                f"approximate neighbours: recall@10 {self.recall:.3f} (target {self.target}), "
                f"nprobe {self.nprobe} of {self.lists} lists, {self.refine} candidates per "
                f"neighbour, {self.cpu_ms:.2f} ms CPU per query (exact {self.exact_cpu_ms:.2f} ms)"
            )
        return (
            f"exact neighbours: no approximate setting reached recall@10 {self.target} within "
            f"{CPU_BUDGET:g}x the exact search's {self.exact_cpu_ms:.2f} ms CPU per query "
            f"(best recall {self.recall:.3f})"
        )

    def report(self):
        """What ``/healthz`` and the admin pages show: numbers, no paths."""
        if not self.approximate:
            return {
                "search": "exact",
                "recall": 1.0,
                "target": self.target,
                "approximate_recall": self.recall,
                "fallback": True,
            }
        return {
            "search": "approximate",
            "recall": self.recall,
            "target": self.target,
            "nprobe": self.nprobe,
            "lists": self.lists,
            "candidates": self.refine,
        }

    def save(self, path):
        """Write as JSON to ``path`` atomically."""
        write_text(path, json.dumps(asdict(self), indent=1) + "\n")

    @classmethod
    def load(cls, path):
        """Read what :meth:`save` wrote."""
        with open(path, encoding="utf-8") as f:
            return cls(**json.load(f))


def build(vectors, random_state=0, target_recall=TARGET_RECALL):
    """An IVF inner-product index of 8-bit codes over ``vectors`` (float32 [n, f]), calibrated.

    Returns ``(approximate, calibration)``: an :class:`Approximate` (ids are
    row numbers), or None when the exact search should serve, and the
    :class:`Calibration` that decided it.
    """
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    rng = np.random.default_rng(random_state)
    index = ivf(vectors, scalar_codes, rng, random_state)
    calibration = calibrate(index, vectors, rng, target_recall)
    if not calibration.approximate:
        return None, calibration
    index.nprobe = calibration.nprobe
    return Approximate(index, calibration.refine), calibration


def scalar_codes(quantizer, factors, lists):
    """An empty IVF index of 8-bit scalar codes, one per factor, on ``quantizer``."""
    faiss = _faiss()
    return faiss.IndexIVFScalarQuantizer(
        quantizer, factors, lists, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
    )


def ivf(vectors, make, rng, random_state=0):
    """An IVF index over ``vectors`` (float32 [n, f]) of the codes ``make(quantizer, factors,
    lists)`` makes, on :func:`list_count` lists from :func:`centroids`; ids are row numbers.
    (The benchmark of index kinds builds its other kinds with it.)"""
    faiss = _faiss()
    n, factors = vectors.shape
    lists = list_count(n)
    sample = np.sort(rng.choice(n, min(n, TRAINING_PER_LIST * lists), replace=False))
    quantizer = faiss.IndexFlatIP(factors)
    quantizer.add(centroids(vectors[sample], lists, random_state))
    index = make(quantizer, factors, lists)
    index.own_fields = True
    quantizer.this.disown()  # the index frees it
    # The codes only (the quantizer is full), on rows spread over the sample.
    index.train(vectors[sample[:: max(1, len(sample) // CODE_TRAINING_ROWS)]])
    for start in range(0, n, ADD_BATCH):
        index.add(vectors[start : start + ADD_BATCH])
    return index


def centroids(sample, lists, random_state):
    """``lists`` spherical k-means centroids of ``sample`` (float32 [m, f]), in two levels."""
    from faiss.contrib.clustering import two_level_clustering

    groups = max(1, round(np.sqrt(lists)))
    # Thousands of small k-means: threads only wait for each other.
    with threadpool_limits(limits=1, user_api="openmp"):
        found, _ = two_level_clustering(
            sample, groups, lists, spherical=True, seed=random_state, verbose=False
        )
    return np.ascontiguousarray(found, dtype=np.float32)


def probe_steps(lists):
    """Candidate ``nprobe`` values, ascending: 1, 2, 3, 4, 6, 8, 12, ... up to ``lists``."""
    steps = sorted({s for p in range(int(np.log2(lists)) + 1) for s in (2**p, 3 * 2**p // 2)})
    return [s for s in steps if s < lists] + [lists]


def calibrate(index, vectors, rng, target_recall):
    """The cheapest ``(nprobe, refine)`` reaching ``target_recall`` at 10 on sampled rows.

    For each of :data:`REFINE_STEPS`, ``nprobe`` grows along
    :func:`probe_steps` until the target is reached, the CPU time per query
    passes the budget (the exact search's times :data:`CPU_BUDGET`, or the
    cheapest setting found so far), or recall stops growing with ``nprobe``.
    CPU time is measured on one thread, as request threads query. Returns a
    :class:`Calibration`.
    """
    rows = rng.choice(len(vectors), min(len(vectors), CALIBRATION_ROWS), replace=False)
    k = min(CALIBRATION_K, len(vectors) - 1)
    with threadpool_limits(limits=1):  # BLAS and faiss's OpenMP alike
        truth, exact_ms = _exact(vectors, rows, k)
        settings = list(_settings(index, vectors, rows, truth, k, target_recall, exact_ms))
    reached = [s for s in settings if s[0] >= target_recall]
    recall, cpu_ms, nprobe, refine = (
        min(reached, key=lambda s: s[1])
        if reached
        else max(settings, key=lambda s: s[0], default=(0.0, 0.0, 0, 0))
    )
    return Calibration(
        approximate=bool(reached),
        target=target_recall,
        recall=round(recall, 4),
        nprobe=nprobe,
        refine=refine,
        lists=index.nlist,
        cpu_ms=round(cpu_ms, 4),
        exact_cpu_ms=round(exact_ms, 4),
    )


def _exact(vectors, rows, k):
    """The exact top ``k`` of each sampled row, and the CPU ms per query of finding it."""
    truth = []
    start = time.process_time()
    for row in rows:
        scores = vectors @ vectors[row]
        scores[row] = -np.inf
        truth.append(ranked_top_k(scores, k))
    return truth, (time.process_time() - start) * 1e3 / len(rows)


def _settings(index, vectors, rows, truth, k, target_recall, exact_ms):
    """``(recall, cpu_ms, nprobe, refine)`` of each setting tried, cheapest first per refine."""
    best_ms = exact_ms * CPU_BUDGET
    for refine in REFINE_STEPS:
        last = -1.0
        for nprobe in probe_steps(index.nlist):
            index.nprobe = nprobe
            recall, cpu_ms = _measure(Approximate(index, refine), vectors, rows, truth, k)
            if cpu_ms > best_ms:
                break
            yield recall, cpu_ms, nprobe, refine
            if recall >= target_recall:
                best_ms = cpu_ms
                break
            if recall - last < FLAT_GAIN and nprobe >= 8:
                break  # more lists no longer help: the candidates are too few
            last = recall


def _measure(approximate, vectors, rows, truth, k):
    """Recall at ``k`` against ``truth`` and CPU ms per query of ``approximate`` on ``rows``."""
    found, start = [], time.process_time()
    for row in rows:
        found.append(similar_rows(approximate, vectors, vectors[row], row, k)[0])
    cpu_ms = (time.process_time() - start) * 1e3 / len(rows)
    hits = sum(len(np.intersect1d(f, t)) for f, t in zip(found, truth, strict=True))
    return hits / (max(k, 1) * len(rows)), cpu_ms


def _without(found, row):
    return found[(found != row) & (found >= 0)]


def save(approximate, path):
    """Write the faiss index of ``approximate`` to ``path`` atomically (``nprobe`` with it)."""
    with atomic_path(path, suffix=".faiss") as tmp:
        _faiss().write_index(approximate.index, tmp)


def load(path, refine):
    """The :class:`Approximate` of the index at ``path``, read-only, with ``refine``
    candidates per neighbour; its lists are memory-mapped from the file.

    ``IO_FLAG_MMAP_IFC`` maps the lists in place and searches them as if read;
    ``IO_FLAG_MMAP`` wraps them in faiss's on-disk lists, which searched 12x
    slower. (Fast-scan files of earlier builds are read whole: faiss maps no
    fast-scan lists.) Also limits faiss to one OpenMP thread: request threads
    run queries side by side, as with BLAS in the web app.
    """
    faiss = _faiss()
    faiss.omp_set_num_threads(1)
    flags = faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY
    return Approximate(faiss.read_index(path, flags), refine)


def similar_rows(approximate, vectors, query, row, k):
    """Approximately the ``k`` rows scoring highest against ``query``, never ``row``.

    ``query`` float32 [f] (the vector ``row`` queries with), ``vectors`` the
    indexed float32 [n, f]. The index proposes ``refine * (k + 1)``
    candidates and they are ranked by their exact scores on ``vectors``, so
    the scores match the exact search's (to float rounding); returns ``(rows, scores)`` like
    :func:`training.core.neighbours.similar_rows`, best first, equal scores
    by row, possibly fewer than ``k`` when the probed lists hold fewer.
    """
    query = np.ascontiguousarray(query, dtype=np.float32)
    index = approximate.index
    _, found = index.search(query[None, :], min(approximate.refine * (k + 1), index.ntotal))
    rows = np.unique(_without(found[0], row)).astype(np.int64)
    scores = vectors[rows] @ query
    order = np.lexsort((rows, -scores))[:k]
    return rows[order], scores[order]
