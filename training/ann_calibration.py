"""How well an approximate neighbour index answers on the model's own vectors, and its record.

A calibration searches sampled rows exactly, one at a time as the web app
does (their CPU time is the exact search's cost at this size), then
measures settings of the approximate index on the same rows: recall at 10
against the exact lists and CPU time per query. :class:`Calibration` is
what it found and chose; it is saved as JSON beside the index
(``neighbours.json`` of :mod:`training.serving_files`), printed by
``python -m training index``, shown on ``/healthz`` and the admin pages.

An index serves only when a setting reached the target recall within the
CPU budget, a share of the exact search's time (:data:`BUDGET_SHARE`): an
index that is not clearly cheaper than the exact search is not worth its
misses. Otherwise the record says ``"exact"`` and why.
"""

import dataclasses
import json
import time

import numpy as np
from threadpoolctl import threadpool_limits

from .atomic import write_text
from .top_k import ranked_top_k

BUDGET_SHARE = 1 / 3  # an index must answer in at most this share of the exact search's CPU time
LABELS = {"nprobe": "lists probed", "candidates": "candidates re-scored per neighbour"}
APPROXIMATE = "approximate"
EXACT = "exact"


@dataclasses.dataclass(frozen=True)
class Calibration:
    """What the calibration measured and chose.

    ``search``: :data:`APPROXIMATE` (the index serves with ``settings``) or
    :data:`EXACT` (no setting reached ``target_recall`` within
    ``budget_ms``). ``recall``: recall at 10 of the chosen setting, or the
    best one within the budget when none reached the target. ``cpu_ms``:
    its mean CPU time per query (ms); ``exact_cpu_ms`` the exact search's.
    ``settings``: the index's search parameters (``nprobe``,
    ``candidates`` per neighbour, ...), ``index``: what kind of index.
    """

    search: str
    target_recall: float
    recall: float
    cpu_ms: float
    exact_cpu_ms: float
    budget_ms: float
    queries: int
    index: str
    settings: dict

    @property
    def serves(self):
        """True when the index serves: it reached the target within the budget."""
        return (
            self.search == APPROXIMATE
            and self.recall >= self.target_recall
            and self.cpu_ms <= self.budget_ms
        )

    def describe(self):
        """One line for people: what serves the similar lists and why."""
        figures = (
            f"recall@10 {self.recall:.3f} (target {self.target_recall:.2f}), "
            f"{self.cpu_ms:.2f} ms CPU per query (exact {self.exact_cpu_ms:.2f} ms, "
            f"budget {self.budget_ms:.2f} ms)"
        )
        settings = ", ".join(
            f"{value} {LABELS.get(key, key)}" for key, value in self.settings.items()
        )
        if self.serves:
            return f"approximate neighbours: {self.index}, {settings}: {figures}"
        if not self.settings:  # not one setting answered within the budget
            return (
                f"exact neighbours: no setting of the {self.index} answered within the budget "
                f"of {self.budget_ms:.2f} ms CPU per query (exact {self.exact_cpu_ms:.2f} ms)"
            )
        return (
            f"exact neighbours: no setting of the {self.index} reached the target within the "
            f"budget; best: {settings}: {figures}"
        )

    def health(self):
        """The numbers ``/healthz`` shows (no paths)."""
        return {
            "search": APPROXIMATE if self.serves else EXACT,
            "calibrated_recall": round(self.recall, 4),
            "target_recall": self.target_recall,
        }


def save(calibration, path):
    """Write ``calibration`` to ``path`` as JSON, atomically."""
    write_text(path, json.dumps(dataclasses.asdict(calibration), indent=1))


def load(path):
    """The :class:`Calibration` saved at ``path``."""
    with open(path, encoding="utf-8") as f:
        return Calibration(**json.load(f))


class Sample:
    """Sampled query rows of ``vectors`` (float32 [n, f]) and their exact answers.

    ``rows`` int64 [m]; ``truth`` their exact top ``k`` (the row left out,
    equal scores by row, as the web app ranks them); ``exact_cpu_ms`` the
    mean CPU time of one exact search, one BLAS thread.
    """

    def __init__(self, vectors, rows, k):
        self.vectors, self.rows, self.k = vectors, rows, k
        self.truth = []
        with threadpool_limits(1, "blas"):
            started = time.process_time()
            for row in rows:
                scores = vectors @ vectors[row]
                scores[row] = -np.inf
                self.truth.append(ranked_top_k(scores, k))
            self.exact_cpu_ms = 1000 * (time.process_time() - started) / max(len(rows), 1)

    def measure(self, search):
        """``(recall, cpu_ms)`` of ``search(query, row, k) -> rows``: recall at ``k`` against
        the exact answers and mean CPU time per query (ms)."""
        hits, cpu = 0, 0.0
        for row, truth in zip(self.rows, self.truth, strict=True):
            started = time.process_time()
            found = search(self.vectors[row], row, self.k)
            cpu += time.process_time() - started
            hits += len(np.intersect1d(found, truth))
        count = max(len(self.rows), 1)
        return hits / max(self.k * count, 1), 1000 * cpu / count
