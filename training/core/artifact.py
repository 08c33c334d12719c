"""The model artifact: one ``.npz`` the web app serves (format in docs/artifact.md).

Keys: ``item_factors`` float32 [models, factors], ``mids``/``names`` unicode
[models], ``like_counts`` int64 [models], ``likes_indptr``/``likes_indices``
int64 (model-major CSR of who liked what: rows = models, columns = users),
``meta`` a JSON string (with ``similarity_exponent``, the neighbour score's
exponent, since simk; 1.0, cosine, when absent). Written atomically; loaded
with ``allow_pickle=False``. Each member's data starts 64-byte aligned, so
the web app maps the arrays instead of reading them
(:mod:`training.core.artifact_mmap`).
"""

import json
import math
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import scipy
import scipy.sparse as sp

from .artifact_mmap import map_arrays, write_aligned
from .errors import BadInput
from .fold_in import item_gram
from .likes import mid_problem

FORMAT = 1
CHECK_ROWS = 65_536  # rows checked at a time: a check of a mapped artifact stays small in memory
# Fold-in solves need Y^T Y + lambda I well conditioned: float32 factors of a lower rank
# leave eigenvalues near 1e-14 of the largest, a sound model far above this.
SINGULAR = 1e-10
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
    write_model(path, item_factors, mids, names, by_model.indptr, by_model.indices, meta)


def write_model(path, item_factors, mids, names, likes_indptr, likes_indices, meta):
    """Write the artifact to ``path`` atomically from the model-major likes pattern.

    ``likes_indptr`` int [models + 1] and ``likes_indices`` int [likes] (the
    users who liked each model, ascending) may be memory-mapped: they are
    written in chunks, never loaded whole.
    """
    arrays = {
        "item_factors": np.ascontiguousarray(item_factors, dtype=np.float32),
        "mids": np.asarray(mids, dtype=str),
        "names": np.asarray(names, dtype=str),
        "like_counts": np.diff(likes_indptr).astype(np.int64),
        "likes_indptr": np.asarray(likes_indptr, dtype=np.int64),
        "likes_indices": np.asarray(likes_indices, dtype=np.int64),  # no copy when int64
        "meta": np.array(json.dumps(meta)),
    }
    write_aligned(path, arrays)


def load_model(path):
    """Load and check the artifact at ``path``; raise :class:`BadInput` if unusable."""
    try:
        with np.load(path, allow_pickle=False) as z:
            _require_keys(path, z.files)
            arrays = {k: z[k] for k in KEYS}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise BadInput(f"{path}: cannot load model: {e}") from None
    return _checked(path, arrays)


def open_model(path, check_content=True):
    """The artifact at ``path`` with its arrays memory-mapped read-only (see
    :mod:`training.core.artifact_mmap`), checked as :func:`load_model` checks it.

    ``check_content=False`` checks the keys, meta and shapes only, which
    reads no array: for a caller that knows this content passed before.
    """
    try:
        arrays = map_arrays(path)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise BadInput(f"{path}: cannot load model: {e}") from None
    _require_keys(path, arrays)
    return _checked(path, {k: arrays[k] for k in KEYS}, check_content)


def _require_keys(path, present):
    missing = [k for k in KEYS if k not in present]
    if missing:
        raise BadInput(f"{path}: not a Sketchrec model, missing {', '.join(missing)}")


def _checked(path, arrays, check_content=True):
    """The :class:`Model` of ``arrays`` (the artifact's keys); :class:`BadInput` if unusable."""
    model = Model(meta=_meta(path, arrays.pop("meta")), **arrays)
    checks = (_shape_problem, _params_problem)
    checks += (_content_problem,) if check_content else ()
    for check in checks:
        if problem := check(model):
            raise BadInput(f"{path}: {problem}")
    return model


def _meta(path, stored):
    try:
        meta = json.loads(str(stored))
    except ValueError:
        raise BadInput(f"{path}: meta is not JSON") from None
    if not isinstance(meta, dict):
        raise BadInput(f"{path}: meta is not a JSON object")
    return meta


def _shape_problem(m):
    kinds = {  # numpy dtype kinds and dimensions of each array
        "item_factors": ("f", 2),
        "mids": ("U", 1),
        "names": ("U", 1),
        "like_counts": ("iu", 1),
        "likes_indptr": ("iu", 1),
        "likes_indices": ("iu", 1),
    }
    for key, (kind, ndim) in kinds.items():
        array = getattr(m, key)
        if array.dtype.kind not in kind or array.ndim != ndim:
            return f"{key} is a {array.ndim}-d {array.dtype} array"
    n = len(m.mids)
    if m.item_factors.shape[0] != n:
        return f"item_factors has shape {m.item_factors.shape}, expected ({n}, factors)"
    if len(m.names) != n or len(m.like_counts) != n or len(m.likes_indptr) != n + 1:
        return f"arrays disagree on the number of models ({n})"
    if m.likes_indptr[-1] != len(m.likes_indices):
        return "likes_indptr does not match likes_indices"
    return None


def _params_problem(m):
    """What in the meta's ``params`` fold-in cannot use, or None."""
    params = m.meta.get("params")
    if not isinstance(params, dict):
        return "meta has no params object"
    for key in ("regularization", "alpha"):
        value = params.get(key)
        if isinstance(value, bool) or not (
            isinstance(value, int | float) and 0 <= value < math.inf
        ):
            return f"meta params {key} {value!r} is not a number >= 0"
    return None


def solve_problem(gram, regularization):
    """Why fold-in cannot solve for item factors whose ``Y^T Y`` is ``gram`` float [f, f] at
    ``regularization`` (lambda), or None.

    Every fold-in matrix is ``Y^T Y + lambda I`` plus a positive semi-definite
    term, so it is at least as far from singular as that sum.
    """
    eigenvalues = np.linalg.eigvalsh(
        np.asarray(gram, np.float64) + regularization * np.eye(len(gram))
    )
    if eigenvalues[0] > SINGULAR * eigenvalues[-1]:
        return None
    return (
        f"item_factors are degenerate at regularization {regularization:g}: fold-in cannot solve"
        f" (Y^T Y + lambda I has eigenvalues {eigenvalues[0]:.3g} to {eigenvalues[-1]:.3g})"
    )


def _content_problem(m):
    """What makes a well-shaped artifact unusable for serving, or None."""
    if len(m.mids) == 0 or m.item_factors.shape[1] == 0:
        return f"no models or no factors (item_factors {m.item_factors.shape})"
    if not all(np.isfinite(chunk).all() for chunk in _chunks(m.item_factors)):
        return "item_factors has NaN or infinite values"
    gram = sum(item_gram(chunk) for chunk in _chunks(m.item_factors))
    if problem := solve_problem(gram, m.meta["params"]["regularization"]):
        return problem
    for number, chunk in enumerate(_chunks(m.mids)):
        for offset, mid in enumerate(chunk.tolist()):
            if problem := mid_problem(mid):
                return f"model {number * CHECK_ROWS + offset}: {problem}"
    if (duplicate := _duplicate_mid(m.mids)) is not None:
        return f"mid {duplicate!r} appears more than once"
    if m.likes_indptr[0] != 0 or (np.diff(m.likes_indptr) < 0).any():
        return "likes_indptr is not a non-decreasing offset array from 0"
    users = users_of(m.meta)
    indices = m.likes_indices
    if len(indices) and (indices.min() < 0 or (users is not None and indices.max() >= users)):
        return f"likes_indices out of range (users: {users})"
    exponent = m.meta.get("similarity_exponent", 1.0)
    if isinstance(exponent, bool) or not (
        isinstance(exponent, int | float) and 0 <= exponent < math.inf
    ):
        return f"meta similarity_exponent {exponent!r} is not a number >= 0"
    return None


def _chunks(array):
    return (array[start : start + CHECK_ROWS] for start in range(0, len(array), CHECK_ROWS))


def _duplicate_mid(mids):
    """The smallest mid that ``mids`` (unicode [models]) holds twice, or None.

    Sorts 64-bit hashes rather than the strings, which would copy them all;
    only rows whose hashes collide are compared as strings.
    """
    hashes = np.concatenate([_fnv1a(chunk) for chunk in _chunks(mids)])
    order = np.argsort(hashes)
    ordered = hashes[order]
    collide = np.flatnonzero(ordered[1:] == ordered[:-1])
    if not len(collide):
        return None
    unique, counts = np.unique(mids[order[np.union1d(collide, collide + 1)]], return_counts=True)
    return str(unique[counts > 1][0]) if (counts > 1).any() else None


def _fnv1a(mids):
    """FNV-1a hashes of the code points of ``mids`` (unicode [m]): uint64 [m]."""
    width = mids.dtype.itemsize // 4
    codes = np.ascontiguousarray(mids).view(np.uint32).reshape(len(mids), width)
    hashes = np.full(len(mids), 0xCBF29CE484222325, np.uint64)
    for column in codes.T:
        hashes = (hashes ^ column) * np.uint64(0x100000001B3)  # wraps modulo 2**64, as meant
    return hashes


def users_of(meta):
    """The number of users the meta's dataset records, or None."""
    dataset = meta.get("dataset")
    users = dataset.get("users") if isinstance(dataset, dict) else None
    return users if isinstance(users, int) else None
