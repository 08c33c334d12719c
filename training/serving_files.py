"""What serving an artifact at scale derives from it, kept in files beside it and mapped.

The folder ``<artifact>-<sha256[:16]>.serving/`` (named by the artifact's
content, so a file replaced under the same name never meets stale
derivatives) holds:

| file | dtype, shape | what |
| --- | --- | --- |
| ``mids.npy``, ``names.npy`` | unicode [models] | the artifact's, copied |
| ``like_counts.npy`` | int64 [models] | the artifact's, copied |
| ``vectors.npy`` | float32 [models, factors] | item vectors / length ** the similarity exponent |
| ``norms.npy`` | float32 [models] | the item vectors' lengths |
| ``item_factors.npy`` | float32 [models, factors] | the raw item vectors (fold-in) |
| ``gram.npy`` | float64 [factors, factors] | ``Y^T Y`` of the raw item vectors (fold-in) |
| ``mid_order.npy`` | int32/int64 [models] | rows in mid order, for ``searchsorted`` |
| ``popular.npy`` | int32/int64 [models] | rows most liked first (stable) |
| ``likes_indptr.npy`` | int64 [models + 1] | the likes CSR's row pointers |
| ``likes_indices.npy`` | int32 (int64 past 2**31 users) [likes] | its user columns |
| ``names.sqlite`` | | :mod:`training.name_index` |
| ``neighbours.json`` | | :mod:`training.ann_calibration`, from ``ann_threshold`` models |
| ``neighbours.faiss`` | | :mod:`training.ann_index`, when its calibration says it serves |

Every worker maps these read-only, so a machine holds one copy however many
workers serve. Nothing maps the artifact itself after the build: a file
rewritten in place (not replaced, as the contract asks) would pull pages
from under a map and kill the worker with SIGBUS; sidecar files are never
rewritten, new content gets a new folder. The folder is built once, under a file lock (other workers
wait, then map it), into a temporary folder renamed into place; folders of
earlier contents of the same artifact name are removed then. Large
artifacts are built by ``python -m training index`` in a child process, so
the worker's memory never holds the build's temporaries (faiss copies the
vectors while it adds them).
"""

import contextlib
import fcntl
import glob
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

from . import ann_calibration, ann_index, name_index, similarity
from .artifact import open_model
from .errors import BadInput
from .metrics import item_gram

ANN_THRESHOLD = 500_000  # models from which the similar query is approximate
IN_PROCESS_MODELS = 100_000  # below this, building in the worker costs less than a child
CHUNK = 65_536  # rows scaled at a time
ANN_FILE = "neighbours.faiss"
CALIBRATION_FILE = "neighbours.json"
NAMES_FILE = "names.sqlite"
ARRAYS = (
    "mids",
    "names",
    "like_counts",
    "vectors",
    "norms",
    "item_factors",
    "gram",
    "mid_order",
    "popular",
    "likes_indptr",
    "likes_indices",
)


def folder_of(path, sha256):
    """The sidecar folder of the artifact at ``path`` whose content has ``sha256`` (hex)."""
    return f"{os.path.abspath(path)}-{sha256[:16]}.serving"


def ensure(path, sha256, models, ann_threshold=ANN_THRESHOLD):
    """Build what is missing of the sidecar folder of ``path`` (``models`` rows); return it.

    Builds in this process below :data:`IN_PROCESS_MODELS` models, otherwise
    in ``python -m training index``; raises :class:`BadInput` when that fails.
    """
    folder = folder_of(path, sha256)
    if _complete(folder, models, ann_threshold):
        return folder
    if models < IN_PROCESS_MODELS:
        build(path, sha256, ann_threshold)
        return folder
    command = [sys.executable, "-m", "training", "index", path]
    command += ["--ann-threshold", str(ann_threshold)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        last = ((done.stderr or "").strip().splitlines() or ["no message"])[-1]
        if done.returncode == 2 and last.startswith("error: "):  # the child's BadInput line
            raise BadInput(last.removeprefix("error: "))
        raise BadInput(f"{path}: building the serving files failed: {last}")
    return folder


def _complete(folder, models, ann_threshold):
    # An index file without its calibration (written before there was one) is built again.
    calibrated = os.path.exists(f"{folder}/{CALIBRATION_FILE}")
    return os.path.isdir(folder) and (models < ann_threshold or calibrated)


def build(path, sha256, ann_threshold=ANN_THRESHOLD, **calibration):
    """Build the sidecar folder of the artifact at ``path`` (content ``sha256``) if missing.

    Returns the folder. The artifact's content is checked first
    (:func:`training.artifact.open_model`; :class:`BadInput` if unusable),
    so a folder exists only for content that passed. Safe to run from
    several processes at once. ``calibration``: keyword arguments of
    :func:`training.ann_index.build` (``target_recall``, ``budget_share``).
    """
    folder = folder_of(path, sha256)
    with _lock(path):
        model = open_model(path)
        if not os.path.isdir(folder):
            _build_folder(folder, model)
            _remove_stale(path, folder)
        if not _complete(folder, len(model.mids), ann_threshold):
            _build_ann(folder, **calibration)
    return folder


def _build_ann(folder, **calibration):
    """The approximate index if its calibration says it serves, then the calibration."""
    index, calibrated = ann_index.build(load(folder)["vectors"], **calibration)
    if calibrated.serves:
        ann_index.save(index, f"{folder}/{ANN_FILE}")
    else:  # an index file of an earlier build must not outlive the calibration that refused it
        with contextlib.suppress(FileNotFoundError):
            os.remove(f"{folder}/{ANN_FILE}")
    ann_calibration.save(calibrated, f"{folder}/{CALIBRATION_FILE}")


@contextlib.contextmanager
def _lock(path):
    folder, name = os.path.split(os.path.abspath(path))
    with open(os.path.join(folder, f".{name}.serving.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _build_folder(folder, model):
    tmp = tempfile.mkdtemp(prefix=".tmp-", dir=os.path.dirname(folder))
    try:
        exponent = float(model.meta.get("similarity_exponent", similarity.COSINE))
        _write_vectors(tmp, model.item_factors, exponent)
        for key in ("mids", "names", "like_counts"):
            np.save(f"{tmp}/{key}.npy", getattr(model, key))
        index_type = _index_type(len(model.mids))
        popular = np.argsort(-model.like_counts, kind="stable").astype(index_type)
        np.save(f"{tmp}/mid_order.npy", np.argsort(model.mids).astype(index_type))
        np.save(f"{tmp}/popular.npy", popular)
        np.save(f"{tmp}/likes_indptr.npy", model.likes_indptr.astype(np.int64))
        users = int(model.likes_indices.max(initial=-1)) + 1
        np.save(f"{tmp}/likes_indices.npy", model.likes_indices.astype(_index_type(users)))
        name_index.build(f"{tmp}/{NAMES_FILE}", model.names, popular)
        os.rename(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _write_vectors(folder, factors, exponent):
    """``vectors``, ``norms``, ``item_factors`` and ``gram`` of ``factors``, a chunk at a time."""
    shape = factors.shape
    files = {
        name: np.lib.format.open_memmap(f"{folder}/{name}.npy", "w+", np.float32, size)
        for name, size in (("vectors", shape), ("norms", shape[:1]), ("item_factors", shape))
    }
    gram = np.zeros((shape[1], shape[1]))
    for start in range(0, len(factors), CHUNK):
        chunk = np.asarray(factors[start : start + CHUNK], dtype=np.float32)
        vectors, norms = similarity.neighbour_space(chunk, exponent)
        files["vectors"][start : start + CHUNK] = vectors
        files["norms"][start : start + CHUNK] = norms
        files["item_factors"][start : start + CHUNK] = chunk
        gram += item_gram(chunk)
    for file in files.values():
        file.flush()
    np.save(f"{folder}/gram.npy", gram)


def _index_type(n):
    return np.int32 if n < 2**31 else np.int64


def _remove_stale(path, keep):
    # Workers still serving an older model keep their maps: unlinked files live on until unmapped.
    for folder in glob.glob(f"{glob.escape(os.path.abspath(path))}-*.serving"):
        if folder != keep:
            shutil.rmtree(folder, ignore_errors=True)


def load(folder):
    """The arrays of a built sidecar folder, memory-mapped read-only: ``{name: ndarray}``."""
    return {name: np.load(f"{folder}/{name}.npy", mmap_mode="r") for name in ARRAYS}


def calibration_of(folder):
    """The folder's :class:`~training.ann_calibration.Calibration`, or None without one."""
    path = f"{folder}/{CALIBRATION_FILE}"
    return ann_calibration.load(path) if os.path.exists(path) else None


def load_ann(folder):
    """``(index, calibration)`` of the folder: the approximate index, memory-mapped, when its
    calibration says it serves (else None), and the calibration (None without one)."""
    calibration = calibration_of(folder)
    serves = calibration is not None and calibration.serves
    return (ann_index.load(f"{folder}/{ANN_FILE}") if serves else None), calibration
