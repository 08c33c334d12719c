"""The paper's confidence: c_ui = 1 + alpha * d_ui where d_ui > 0, 1 elsewhere."""

import numpy as np


def confidence(likes, alpha):
    """Confidence matrix of a users x models likes CSR (values d_ui).

    Returns a CSR of the same shape and sparsity (float32) holding
    ``1 + alpha * d_ui`` on the observed cells. ``implicit`` reads a stored
    value as c_ui itself (unobserved cells count as c = 1, p = 0), so this
    matrix is passed with ``alpha=1.0``.
    """
    c = likes.astype(np.float32, copy=True)
    c.data = (1.0 + np.float64(alpha) * c.data).astype(np.float32)
    return c
