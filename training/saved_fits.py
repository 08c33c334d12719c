"""Fits paused at a halving rung, kept on disk until they go on or are stopped.

One ``.npy`` pair per configuration in a folder beside RESULTS.json, so a
promoted configuration continues where it stopped (the warm start) and
``--resume`` continues after a killed process. Only configurations that can
still be promoted keep their files; the folder goes when the search ends.
"""

import contextlib
import os
import shutil

import numpy as np

from .core.atomic import atomic_path
from .wrmf import WRMF


class SavedFits:
    """The folder ``path`` of paused fits, keyed by :class:`training.core.params.Params`."""

    def __init__(self, path):
        self.path = path

    def save(self, model):
        """Keep a :class:`WRMF`'s factors in place of the earlier ones of its parameters."""
        os.makedirs(self.path, exist_ok=True)
        for part, factors in (("users", model.user_factors), ("items", model.item_factors)):
            with atomic_path(self._file(model.params, part, model.iterations), ".npy") as tmp:
                np.save(tmp, factors)
        self.discard(model.params, keep=model.iterations)

    def load(self, params, iterations, seed):
        """The :class:`WRMF` saved after ``iterations`` sweeps of ``params``, or None."""
        try:
            users, items = (
                np.load(self._file(params, part, iterations)) for part in ("users", "items")
            )
        except (OSError, ValueError):
            return None
        return WRMF(params, seed).restore(users, items, iterations)

    def discard(self, params, keep=None):
        """Forget the saved fits of ``params`` (but the one after ``keep`` iterations)."""
        prefix, kept = self._prefix(params), f"{self._prefix(params)}{keep}_"
        for name in self._names():
            if name.startswith(prefix) and not name.startswith(kept):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(os.path.join(self.path, name))

    def clear(self):
        """Remove the folder."""
        shutil.rmtree(self.path, ignore_errors=True)

    def _names(self):
        try:
            return os.listdir(self.path)
        except FileNotFoundError:
            return []

    def _prefix(self, params):
        return f"{params.factors}_{params.regularization!r}_{params.alpha!r}_"

    def _file(self, params, part, iterations):
        return os.path.join(self.path, f"{self._prefix(params)}{iterations}_{part}.npy")
