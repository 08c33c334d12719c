"""The model artifact: one ``.npz`` the web app serves (see CONTRACT.md).

Keys: ``item_factors`` float32 [models, factors], ``mids``/``names`` unicode
[models], ``like_counts`` int64 [models], ``likes_indptr``/``likes_indices``
int64 (model-major CSR of who liked what: rows = models, columns = users),
``meta`` a JSON string. Written atomically; loaded with ``allow_pickle=False``.
Each member's data starts 64-byte aligned, so the web app maps the arrays
instead of reading them (:mod:`training.artifact_mmap`).
"""

import json
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import scipy
import scipy.sparse as sp

from .artifact_mmap import map_arrays, write_aligned
from .errors import BadInput

FORMAT = 1
KEYS = ("item_factors", "mids", "names", "like_counts", "likes_indptr", "likes_indices", "meta")


@dataclass
class Model:
    """A loaded artifact; arrays as in the module docstring, ``meta`` a dict."""

    item_factors: np.ndarray
    mids: np.ndarray
    names: np.ndarray
    like_counts: np.ndarray
    likes_indptr: np.ndarray
    likes_indices: np.ndarray
    meta: dict

    @property
    def model_users(self):
        """Model-major likes CSR [models, users] with ones."""
        n_users = int(self.likes_indices.max(initial=-1)) + 1
        data = np.ones(len(self.likes_indices), dtype=np.float32)
        return sp.csr_matrix(
            (data, self.likes_indices, self.likes_indptr), shape=(len(self.mids), n_users)
        )


def build_meta(params, iterations, dataset, **extra):
    """The ``meta`` dict: format, params, confidence, dataset, created_at, versions, extras."""
    # Imported here, not at the top: web workers load artifacts and never need implicit.
    import implicit

    return {
        "format": FORMAT,
        "params": {**params.as_dict(), "iterations": int(iterations)},
        "confidence": "1+alpha*d",
        "dataset": dataset,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": {
            "implicit": implicit.__version__,
            "numpy": np.__version__,
            "scipy": scipy.__version__,
        },
        **extra,
    }


def save_model(path, item_factors, mids, names, likes, meta):
    """Write the artifact to ``path`` atomically.

    ``likes`` is the users x models CSR the model was fitted on; it is stored
    model-major with its pattern only.
    """
    by_model = sp.csr_matrix(likes).T.tocsr()
    by_model.sort_indices()
    arrays = {
        "item_factors": np.ascontiguousarray(item_factors, dtype=np.float32),
        "mids": np.asarray(mids, dtype=str),
        "names": np.asarray(names, dtype=str),
        "like_counts": np.diff(by_model.indptr).astype(np.int64),
        "likes_indptr": by_model.indptr.astype(np.int64),
        "likes_indices": by_model.indices.astype(np.int64),
        "meta": np.array(json.dumps(meta)),
    }
    write_aligned(path, arrays)


def load_model(path):
    """Load and check the artifact at ``path``; raise :class:`BadInput` if unusable."""
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in KEYS if k not in z.files]
            if missing:
                raise BadInput(f"{path}: not a Sketchrec model, missing {', '.join(missing)}")
            arrays = {k: z[k] for k in KEYS}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise BadInput(f"{path}: cannot load model: {e}") from None
    meta = json.loads(str(arrays.pop("meta")))
    model = Model(meta=meta, **arrays)
    _check(path, model)
    return model


def open_model(path):
    """The artifact at ``path`` with its arrays memory-mapped read-only (see
    :mod:`training.artifact_mmap`), checked as :func:`load_model` checks it."""
    arrays = map_arrays(path)
    missing = [k for k in KEYS if k not in arrays]
    if missing:
        raise BadInput(f"{path}: not a Sketchrec model, missing {', '.join(missing)}")
    meta = json.loads(str(arrays["meta"]))
    model = Model(meta=meta, **{k: arrays[k] for k in KEYS if k != "meta"})
    _check(path, model)
    return model


def _check(path, m):
    n = len(m.mids)
    if m.item_factors.ndim != 2 or m.item_factors.shape[0] != n:
        raise BadInput(
            f"{path}: item_factors has shape {m.item_factors.shape}, expected ({n}, factors)"
        )
    if len(m.names) != n or len(m.like_counts) != n or len(m.likes_indptr) != n + 1:
        raise BadInput(f"{path}: arrays disagree on the number of models ({n})")
    if m.likes_indptr[-1] != len(m.likes_indices):
        raise BadInput(f"{path}: likes_indptr does not match likes_indices")
