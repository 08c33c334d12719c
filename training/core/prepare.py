"""From raw likes to the thresholded users x models likes matrix.

The post's data preparation: drop duplicate likes, then drop users and models
with too few likes, again and again until nothing changes. Vectorised with
``numpy.bincount``; no pandas.
"""

import os
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .errors import BadInput
from .likes import file_sha256


@dataclass
class Summary:
    """Size of a likes set: users, models, likes, density in percent."""

    users: int
    models: int
    likes: int

    @property
    def sparsity(self):
        """Percentage of filled cells, the post's "Sparsity"."""
        cells = self.users * self.models
        return 100.0 * self.likes / cells if cells else 0.0

    def lines(self):
        """The post's three printed lines."""
        return [
            f"Number of users: {self.users}",
            f"Number of models: {self.models}",
            f"Sparsity: {self.sparsity:4.3f}%",
        ]


@dataclass
class Prepared:
    """Thresholded likes.

    ``likes`` is a users x models CSR (float32, values d_ui); ``uids``, ``mids``
    and ``names`` give the id of each row and column, in order of first
    appearance in the file (so the mapping is deterministic).
    """

    likes: sp.csr_matrix
    uids: np.ndarray
    mids: np.ndarray
    names: np.ndarray
    duplicates: int
    before: Summary
    after: Summary

    def report(self):
        """The post's printout, as lines."""
        return report_lines(self.duplicates, self.before, self.after)


def report_lines(duplicates, before, after):
    """The post's printout of duplicates and the :class:`Summary` before and after
    thresholding."""
    return (
        [f"Duplicated rows: {duplicates}", "Starting likes info"]
        + before.lines()
        + ["Ending likes info"]
        + after.lines()
    )


def drop_duplicates(user, model):
    """Indices of the first row of each (user, model) pair, in file order, and the count dropped."""
    key = user.astype(np.int64) * (int(model.max(initial=-1)) + 1) + model
    _, first = np.unique(key, return_index=True)
    first.sort()
    return first, len(key) - len(first)


def threshold(user, model, min_user_likes, min_model_likes):
    """Boolean mask of the likes that survive iterative thresholding.

    Users with fewer than ``min_user_likes`` likes, then models with fewer than
    ``min_model_likes``, are dropped until a pass removes nothing, so every
    remaining user and model meets its minimum.
    """
    keep = np.ones(len(user), dtype=bool)
    while True:
        before = keep.sum()
        per_user = np.bincount(user[keep], minlength=user.max(initial=-1) + 1)
        keep &= per_user[user] >= min_user_likes
        per_model = np.bincount(model[keep], minlength=model.max(initial=-1) + 1)
        keep &= per_model[model] >= min_model_likes
        if keep.sum() == before:
            return keep


def prepare(likes, min_user_likes=5, min_model_likes=5):
    """Deduplicate and threshold :class:`training.core.likes.Likes` into :class:`Prepared`.

    Raises :class:`BadInput` when no like survives.
    """
    first, duplicates = drop_duplicates(likes.user, likes.model)
    user, model, count = likes.user[first], likes.model[first], likes.count[first]
    before = Summary(len(np.unique(user)), len(np.unique(model)), len(user))
    keep = threshold(user, model, min_user_likes, min_model_likes)
    if not keep.any():
        raise BadInput(
            f"{likes.path}: no likes left after thresholding "
            f"(min {min_user_likes} per user, {min_model_likes} per model)"
        )
    kept_users, rows = np.unique(user[keep], return_inverse=True)
    kept_models, cols = np.unique(model[keep], return_inverse=True)
    matrix = sp.csr_matrix(
        (count[keep], (rows, cols)), shape=(len(kept_users), len(kept_models)), dtype=np.float32
    )
    return Prepared(
        likes=matrix,
        uids=np.array(likes.uids)[kept_users],
        mids=np.array(likes.mids)[kept_models],
        names=np.array(likes.names)[kept_models],
        duplicates=duplicates,
        before=before,
        after=Summary(len(kept_users), len(kept_models), int(keep.sum())),
    )


def dataset_summary(path, prepared):
    """The ``dataset`` of RESULTS.json and of a model's meta.

    The file (path, sha256) and the size of the thresholded likes.
    """
    return {
        "path": os.path.abspath(path),
        "sha256": file_sha256(path),
        "users": prepared.after.users,
        "models": prepared.after.models,
        "likes": prepared.after.likes,
        "duplicates_dropped": prepared.duplicates,
    }
