"""The k largest scores of each row, exactly, without partitioning whole rows.

Shared by the evaluation (p@k over batches of users) and the web app's
similar-models query (one row).
"""

import numpy as np

GROUP = 32  # columns per group of the batched search; see :func:`top_k`
ARGMAX_K = 16  # up to this k, k argmax passes beat a partition
SAMPLE_STRIDE = 16  # every 16th score bounds a single row's k-th largest


def padded_width(columns, k):
    """The score width :func:`top_k` works on for ``columns`` scores: a multiple of
    :data:`GROUP` and at least ``k * GROUP``."""
    return max(k, -(-columns // GROUP)) * GROUP


def top_k(scores, k):
    """Column indices of each row's ``k`` largest scores, in no order: intp [rows, k].

    ``scores`` float [rows, columns] with ``0 < k <= columns``; it is not
    modified. The order among equal scores is unspecified.

    One row (the similar-models query): the k-th largest of every
    :data:`SAMPLE_STRIDE`-th score bounds the true k-th largest from below,
    so ``argpartition`` runs only on the few scores at or above it.

    Many rows (p@k over a batch of users): columns are dealt into
    ``columns // GROUP`` groups (column c in group c mod that); the k groups
    with the largest maxima hold k scores at least as large as any other, so
    one vectorised max over all scores and a search among ``k * GROUP``
    candidates per row find the top k. Callers pass rows already padded to
    :func:`padded_width` with ``-inf`` (otherwise a padded copy is made).
    """
    if scores.shape[0] == 1:
        return _one_row(scores[0], k)[None, :]
    return _grouped(scores, k)


def _grouped(scores, k):
    """:func:`top_k` by group maxima, for any number of rows."""
    rows, columns = scores.shape
    width = padded_width(columns, k)
    if width != columns:
        padded = np.full((rows, width), -np.inf, dtype=scores.dtype)
        padded[:, :columns] = scores
        scores = padded
    groups = width // GROUP
    maxima = scores.reshape(rows, GROUP, groups).max(axis=1)
    # A partition, not argmax passes: groups whose maxima tie (at -inf) must still be distinct.
    best_groups = np.argpartition(maxima, groups - k, axis=1)[:, -k:]
    candidates = (best_groups[:, None, :] + groups * np.arange(GROUP)[:, None]).reshape(rows, -1)
    values = np.take_along_axis(scores, candidates, axis=1)
    return np.take_along_axis(candidates, largest(values, k), axis=1)


def _one_row(scores, k):
    """Indices of the ``k`` largest of 1-D ``scores``, in no order."""
    sample = scores[::SAMPLE_STRIDE]
    if len(sample) > 2 * k:
        bound = np.partition(sample, len(sample) - k)[len(sample) - k]
        candidates = np.flatnonzero(scores >= bound)
    else:
        candidates = np.arange(len(scores))
    return candidates[np.argpartition(scores[candidates], len(candidates) - k)[-k:]]


def largest(values, k):
    """Column indices of each row's ``k`` largest ``values`` [rows, columns]; may overwrite them.

    Distinct as long as each row has at least ``k`` values above ``-inf``.
    """
    if k > ARGMAX_K:
        return np.argpartition(values, values.shape[1] - k, axis=1)[:, -k:]
    rows = np.arange(values.shape[0])
    top = np.empty((values.shape[0], k), dtype=np.intp)
    for j in range(k):
        top[:, j] = values.argmax(axis=1)
        values[rows, top[:, j]] = -np.inf
    return top


def ranked_top_k(scores, k):
    """The ``k`` largest of one row of ``scores`` (float [columns]), best first: int64 [k].

    Equal scores are ordered by column, so the answer does not depend on
    :func:`top_k`'s internal order. ``0 < k`` and at least ``k`` scores above ``-inf``.
    """
    top = top_k(scores[None, :], k)[0]
    return top[np.lexsort((top, -scores[top]))].astype(np.int64)
