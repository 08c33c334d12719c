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
| ``mid_order.npy`` | int32/int64 [models] | rows in mid order, for a binary search of a mid |
| ``popular.npy`` | int32/int64 [models] | rows most liked first (stable) |
| ``likes_indptr.npy`` | int64 [models + 1] | the likes CSR's row pointers |
| ``likes_indices.npy`` | int32 (int64 past 2**31 users) [likes] | its user columns |
| ``names.sqlite`` | | :mod:`training.core.name_index` |
| ``neighbours.json`` | | the calibration (:mod:`training.core.ann_index`), from ``ann_threshold`` |
| ``neighbours.faiss`` | | the approximate index, when the calibration kept it |

Every worker maps these read-only, so a machine holds one copy however many
workers serve. Nothing maps the artifact itself after the build: a file
rewritten in place (not replaced, as docs/artifact.md asks of writers) would pull pages
from under a map and kill the worker with SIGBUS; sidecar files are never
rewritten, new content gets a new folder. The folder is built once, under a file lock (other workers
wait, then map it), into a temporary folder renamed into place. Large
artifacts are built by the pipeline's ``index`` step in a child process
(:mod:`training.core.steps`), so the worker's memory never holds the build's
temporaries (faiss copies the vectors while it adds them).

Folders of other contents of the same artifact name are removed (:func:`prune`)
after a build and after each swap, but only those no process uses: a process
serving a folder holds a shared ``flock`` on its ``in-use`` file
(:func:`hold`), which the kernel drops when the process dies, and a folder is
removed only under an exclusive one. Until then a worker still serving the
old model can open its name index from any thread.
"""

import contextlib
import fcntl
import glob
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass

import numpy as np

from . import ann_index, name_index, similarity, steps
from .artifact import open_model, users_of
from .errors import BadInput
from .fold_in import item_gram
from .name_index import NameIndex
from .neighbours import NeighbourIndex

ANN_THRESHOLD = 500_000  # models from which the similar query is approximate
IN_PROCESS_MODELS = 100_000  # below this, building in the worker costs less than a child
CHUNK = 65_536  # rows scaled at a time
ANN_FILE = "neighbours.faiss"
CALIBRATION_FILE = "neighbours.json"
NAMES_FILE = "names.sqlite"
IN_USE = "in-use"  # empty; each process serving the folder holds a shared flock on it
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
    """Build what is missing of the sidecar folder of ``path`` (``models`` rows) and hold it.

    Returns ``(folder, held)``: the folder, and its ``in-use`` file under a
    shared lock (:func:`hold`), to close when the process stops serving it.
    Builds in this process below :data:`IN_PROCESS_MODELS` models, otherwise
    in a child running the ``index`` step; raises :class:`BadInput` when that fails.
    """
    for _ in range(2):  # a prune elsewhere may remove a folder between its build and its hold
        folder = _built(path, sha256, models, ann_threshold)
        held = hold(folder)
        if held is not None:
            return folder, held
    raise BadInput(f"{path}: its serving folder was removed while it was opened")


def _built(path, sha256, models, ann_threshold):
    folder = folder_of(path, sha256)
    if _complete(folder, models, ann_threshold):
        return folder
    if models < IN_PROCESS_MODELS:
        return build(path, sha256, ann_threshold)
    with tempfile.TemporaryDirectory(prefix="sketchrec-index-") as scratch:
        result = os.path.join(scratch, "result.json")
        spec = steps.to_spec(steps.IndexStep(path, ann_threshold))
        child = steps.start_step(spec, result, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        failed = steps.step_failure(child.wait(), result)
    if failed is None:
        return folder
    if failed["kind"] == "bad_input":
        raise BadInput(failed["error"])
    raise BadInput(f"{path}: building the serving files failed: {failed['error']}")


def _complete(folder, models, ann_threshold):
    # Folders of older builds have an index without its calibration: calibrate them again.
    needs_ann = models >= ann_threshold
    return os.path.exists(f"{folder}/{IN_USE}") and (
        not needs_ann or os.path.exists(f"{folder}/{CALIBRATION_FILE}")
    )


def build(path, sha256, ann_threshold=ANN_THRESHOLD):
    """Build the sidecar folder of the artifact at ``path`` (content ``sha256``) if missing.

    Returns the folder. The artifact's content is checked first
    (:func:`training.core.artifact.open_model`; :class:`BadInput` if unusable),
    so a folder exists only for content that passed. Safe to run from
    several processes at once.
    """
    folder = folder_of(path, sha256)
    with _lock(path):
        model = open_model(path)
        if not os.path.isdir(folder):
            _build_folder(folder, model)
            prune(path, folder)
        elif not os.path.exists(f"{folder}/{IN_USE}"):  # built before in-use files existed
            open(f"{folder}/{IN_USE}", "w").close()
        if len(model.mids) >= ann_threshold and not os.path.exists(f"{folder}/{CALIBRATION_FILE}"):
            _build_ann(folder)
    return folder


def _build_ann(folder):
    """Calibrate the approximate index and keep it, or only say the exact search serves."""
    approximate, calibration = ann_index.build(load(folder)["vectors"])
    if approximate is not None:
        ann_index.save(approximate, f"{folder}/{ANN_FILE}")
    calibration.save(f"{folder}/{CALIBRATION_FILE}")  # last: it marks the folder complete


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
        open(f"{tmp}/{IN_USE}", "w").close()
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


def hold(folder):
    """Mark ``folder`` as used by this process until the returned file is closed.

    Returns the open ``in-use`` file under a shared lock, or None when the
    folder was removed meanwhile (build it again).
    """
    try:
        held = open(f"{folder}/{IN_USE}", "rb")
    except FileNotFoundError:
        return None
    fcntl.flock(held, fcntl.LOCK_SH)  # waits while a prune holds it, then sees what it did
    try:
        still_there = os.stat(f"{folder}/{IN_USE}").st_ino == os.fstat(held.fileno()).st_ino
    except FileNotFoundError:
        still_there = False
    if not still_there:
        held.close()
        return None
    return held


def prune(path, keep):
    """Remove the serving folders of the artifact ``path`` other than ``keep`` that no process
    holds (:func:`hold`); folders still held are left for a later prune."""
    for folder in glob.glob(f"{glob.escape(os.path.abspath(path))}-*.serving"):
        if folder != keep:
            _remove_unheld(folder)


def _remove_unheld(folder):
    try:
        marker = open(f"{folder}/{IN_USE}", "rb")
    except FileNotFoundError:  # a folder from before in-use files: nobody can hold it
        shutil.rmtree(folder, ignore_errors=True)
        return
    except OSError:
        return
    with marker:
        try:
            fcntl.flock(marker, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return  # in use
        # Renamed away first, so no process finds a half-removed folder under its name.
        try:
            doomed = tempfile.mkdtemp(prefix=".tmp-", dir=os.path.dirname(folder))
        except OSError:
            return
        with contextlib.suppress(OSError):  # gone already: another process pruned it
            os.rename(folder, f"{doomed}/folder")
        shutil.rmtree(doomed, ignore_errors=True)


def load(folder):
    """The arrays of a built sidecar folder, memory-mapped read-only: ``{name: ndarray}``."""
    return {name: np.load(f"{folder}/{name}.npy", mmap_mode="r") for name in ARRAYS}


def load_calibration(folder):
    """The folder's :class:`training.core.ann_index.Calibration`, or None below the threshold."""
    path = f"{folder}/{CALIBRATION_FILE}"
    return ann_index.Calibration.load(path) if os.path.exists(path) else None


def load_ann(folder, calibration):
    """The folder's approximate index, memory-mapped, or None when the exact search serves
    (no ``calibration``, or one that did not keep the index)."""
    if calibration is None or not calibration.approximate:
        return None
    return ann_index.load(f"{folder}/{ANN_FILE}", calibration.refine)


@dataclass(frozen=True)
class Served:
    """One artifact as a worker serves it, every part mapped read-only from its sidecar folder.

    ``arrays`` the folder's ``{name: ndarray}`` (:func:`load`), ``meta`` the
    artifact's dict, ``users`` the likes' user count, ``neighbours`` the
    similar-models query (approximate when its calibration kept an index),
    ``names`` the name search, ``folder`` the sidecar folder and ``held`` its
    ``in-use`` file under a shared lock (:func:`hold`): close it when the
    process stops serving the folder.
    """

    arrays: dict
    meta: dict
    users: int
    neighbours: NeighbourIndex
    names: NameIndex
    folder: str
    held: object


def open_served(path, sha256, ann_threshold=ANN_THRESHOLD):
    """Map the artifact at ``path`` (content ``sha256``) and its sidecar folder, built if
    missing, as :class:`Served`; the neighbours are approximate from ``ann_threshold`` models
    when the calibration kept an index.

    The artifact's content is checked when its folder is built, once per
    content (the folder is named by ``sha256``): a worker that finds the
    folder reads none of the artifact's arrays. Raises :class:`BadInput`
    (or ``OSError``) when the artifact cannot serve.
    """
    model = open_model(path, check_content=False)
    users = users_of(model.meta)  # checked against every index when the folder was built
    models = len(model.mids)
    folder, held = ensure(path, sha256, models, ann_threshold)
    try:
        arrays = load(folder)
        if users is None:  # an artifact without the count: one pass over the likes
            users = int(arrays["likes_indices"].max(initial=-1)) + 1
        exponent = float(model.meta.get("similarity_exponent", similarity.COSINE))
        calibration = load_calibration(folder) if models >= ann_threshold else None
        neighbours = NeighbourIndex(
            arrays["vectors"], arrays["norms"], exponent, load_ann(folder, calibration), calibration
        )
        names = NameIndex(f"{folder}/{NAMES_FILE}")
    except BaseException:
        held.close()
        raise
    return Served(arrays, model.meta, users, neighbours, names, folder, held)
