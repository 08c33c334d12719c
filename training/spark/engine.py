"""Prepare likes and fit WRMF with Spark MLlib; return what the model artifact needs.

Confidence: Spark's implicit ALS (``pyspark.ml.recommendation.ALS`` with
``implicitPrefs=True``) follows Hu, Koren & Volinsky (2008): an observed rating
r gets confidence c = 1 + alpha * |r| and preference p = 1 where r > 0, so with
r = d_ui it is the paper's c_ui = 1 + alpha * d_ui, as in the default engine.

Regularization: Spark scales lambda by each user's and each model's number of
ratings (ALS-WR, Zhou et al. 2008); ``implicit`` does not. ``--regularization``
is passed through as is, so the same value regularizes more here; the meta says so.

Ids are numbered in order of first appearance (files in path order, then
lines), as the default engine numbers them, so a single file gives the models
in the same order under both engines.
"""

import os
from dataclasses import dataclass
from urllib.parse import urlparse

import numpy as np
import pyspark
from pyspark import StorageLevel
from pyspark.ml.recommendation import ALS
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ..core.errors import BadInput
from ..core.prepare import Summary, dataset_summary, report_lines
from .read import first_bad_row, read_rows

LIKES_PER_BLOCK = 50_000_000  # likes on the driver at a time while the CSR is written
REGULARIZATION = (
    "ALS-WR: Spark multiplies regParam by each user's and each model's "
    "number of likes; passed through as is"
)


@dataclass
class SparkPrepared:
    """Thresholded likes in Spark.

    ``ratings`` is a cached DataFrame (``user`` int, ``model`` int, ``count``
    float d_ui), ids 0-based; ``mids``/``names`` (unicode [models]) name each
    model index. The other fields are those of :class:`training.core.prepare.Prepared`.
    """

    ratings: object
    mids: np.ndarray
    names: np.ndarray
    duplicates: int
    before: Summary
    after: Summary
    skipped_rows: int = 0

    @property
    def users(self):
        """Users left after thresholding."""
        return self.after.users

    def report(self):
        """The post's printout: :meth:`training.core.prepare.Prepared.report`'s lines."""
        return report_lines(self.duplicates, self.before, self.after)


@dataclass
class Factors:
    """ALS factors: ``user_factors`` float32 [users, f], ``item_factors`` float32 [models, f]."""

    user_factors: np.ndarray
    item_factors: np.ndarray


def prepare(spark, path, min_user_likes=5, min_model_likes=5, skip_bad_rows=False):
    """Read, deduplicate and threshold the likes at ``path`` in Spark: :class:`SparkPrepared`.

    Raises :class:`training.core.errors.BadInput` as the default engine does: the
    first bad row as ``path:line: reason`` (unless ``skip_bad_rows``), or no
    like left after thresholding.
    """
    rows = read_rows(spark, path).persist(StorageLevel.MEMORY_AND_DISK)
    skipped = 0
    if skip_bad_rows:
        skipped = rows.where(F.col("reason").isNotNull()).count()
    else:
        first_bad_row(spark, path, rows)
    good = rows.where(F.col("reason").isNull()).select(
        "mid", "uid", "name", "count", F.struct("file", "block", "idx").alias("pos")
    )
    pairs = (
        good.groupBy("uid", "mid")
        .agg(F.min_by("count", "pos").alias("count"), F.min("pos").alias("pos"))
        .localCheckpoint()
    )
    names = good.groupBy("mid").agg(F.min_by("name", "pos").alias("name")).localCheckpoint()
    good_rows = good.count()
    rows.unpersist()
    before = _summary(pairs)
    kept = _threshold(pairs, min_user_likes, min_model_likes)
    if kept.isEmpty():
        raise BadInput(
            f"{path}: no likes left after thresholding "
            f"(min {min_user_likes} per user, {min_model_likes} per model)"
        )
    users, models = _index(spark, pairs, kept, "uid"), _index(spark, pairs, kept, "mid")
    ratings = (
        kept.join(users, "uid")
        .join(models, "mid")
        .select(
            F.col("uid_index").cast("int").alias("user"),
            F.col("mid_index").cast("int").alias("model"),
            F.col("count").cast("float").alias("count"),
        )
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    ratings.count()  # cached now, so fitting times ALS alone
    catalogue = models.join(names, "mid").orderBy("mid_index").select("mid", "name").toArrow()
    after = _summary(kept)
    return SparkPrepared(
        ratings=ratings,
        mids=np.asarray(catalogue["mid"].to_pylist(), dtype=str),
        names=np.asarray(catalogue["name"].to_pylist(), dtype=str),
        duplicates=good_rows - before.likes,
        before=before,
        after=after,
        skipped_rows=skipped,
    )


def _summary(pairs):
    row = pairs.agg(F.countDistinct("uid"), F.countDistinct("mid"), F.count("*")).first()
    return Summary(users=row[0], models=row[1], likes=row[2])


def _threshold(pairs, min_user_likes, min_model_likes):
    """The likes that survive iterative thresholding (see :func:`training.core.prepare.threshold`).

    Each pass is checkpointed, so the plan does not grow with the passes.
    """
    kept, size = pairs, pairs.count()
    while True:
        kept = kept.join(_frequent(kept, "uid", min_user_likes), "uid", "left_semi")
        kept = kept.join(
            _frequent(kept, "mid", min_model_likes), "mid", "left_semi"
        ).localCheckpoint()
        now = kept.count()
        if now == size:
            return kept
        size = now


def _frequent(likes, key, minimum):
    return likes.groupBy(key).count().where(F.col("count") >= minimum).select(key)


def _index(spark, pairs, kept, key):
    """``key`` and ``key_index`` of each ``key`` in ``kept``: 0-based, in order of first
    appearance among all ``pairs`` (before thresholding, as the default engine numbers them)."""
    firsts = (
        pairs.groupBy(key)
        .agg(F.min("pos").alias("first"))
        .join(kept.select(key).distinct(), key, "left_semi")
        .orderBy("first")
        .select(key)
    )
    numbered = firsts.rdd.zipWithIndex().map(lambda pair: (pair[0][0], pair[1]))
    schema = T.StructType(
        [T.StructField(key, T.StringType()), T.StructField(f"{key}_index", T.LongType())]
    )
    return spark.createDataFrame(numbered, schema).localCheckpoint()


def fit_als(ratings, users, models, params, iterations, seed=0):
    """Fit implicit ALS on ``ratings`` (``user``, ``model``, ``count`` d_ui): :class:`Factors`.

    ``users`` and ``models`` size the factor matrices; a user or model without
    ratings keeps zero factors.
    """
    als = ALS(
        rank=params.factors,
        maxIter=iterations,
        regParam=params.regularization,
        alpha=params.alpha,
        implicitPrefs=True,
        seed=seed,
        userCol="user",
        itemCol="model",
        ratingCol="count",
    )
    model = als.fit(ratings)
    return Factors(
        user_factors=_factors(model.userFactors, users, params.factors),
        item_factors=_factors(model.itemFactors, models, params.factors),
    )


def _factors(frame, rows, rank):
    """Spark's (``id``, ``features``) factors as float32 [rows, rank], row ``id`` = ``features``."""
    table = frame.toArrow()
    ids = table["id"].to_numpy()
    features = table["features"].combine_chunks().flatten().to_numpy()
    out = np.zeros((rows, rank), dtype=np.float32)
    out[ids] = features.reshape(-1, rank)
    return out


def likes_by_model(prepared, folder):
    """The model-major likes pattern of :class:`SparkPrepared`, for the artifact.

    Returns ``(indptr, indices)``: int64 [models + 1] in memory, and int64
    [likes] (the users of each model, ascending) memory-mapped from
    ``folder/likes_indices.npy``. The likes come to the driver one block of
    models at a time (about :data:`LIKES_PER_BLOCK` likes), so the driver
    holds 8 bytes per model and one block, not every like.
    """
    counts = prepared.ratings.groupBy("model").count().toArrow()
    like_counts = np.zeros(len(prepared.mids), np.int64)
    like_counts[counts["model"].to_numpy()] = counts["count"].to_numpy()
    indptr = np.concatenate([[0], np.cumsum(like_counts)])
    path = os.path.join(folder, "likes_indices.npy")
    indices = np.lib.format.open_memmap(path, "w+", np.int64, (int(indptr[-1]),))
    for lo, hi in _blocks(indptr):
        block = prepared.ratings.where((F.col("model") >= lo) & (F.col("model") < hi))
        table = block.select("model", "user").toArrow()
        model, user = table["model"].to_numpy(), table["user"].to_numpy()
        indices[indptr[lo] : indptr[hi]] = user[np.lexsort((user, model))]
    indices.flush()
    return indptr, indices


def _blocks(indptr):
    """Ranges ``(lo, hi)`` of consecutive models holding at most :data:`LIKES_PER_BLOCK` likes
    each (or one model, when that one has more)."""
    models, lo = len(indptr) - 1, 0
    while lo < models:
        hi = int(np.searchsorted(indptr, indptr[lo] + LIKES_PER_BLOCK, side="right")) - 1
        hi = min(max(hi, lo + 1), models)
        yield lo, hi
        lo = hi


def dataset(path, prepared):
    """The meta's ``dataset``; ``sha256`` only for a local file (null for directories and URIs)."""
    local = path.removeprefix("file:")
    if urlparse(path).scheme in ("", "file") and os.path.isfile(local):
        return dataset_summary(local, prepared)
    return {
        "path": path,
        "sha256": None,
        "users": prepared.after.users,
        "models": prepared.after.models,
        "likes": prepared.after.likes,
        "duplicates_dropped": prepared.duplicates,
    }


def meta_extras(spark):
    """The meta's Spark entries: engine, Spark version, master and the regularization's scaling."""
    return {
        "engine": "spark",
        "spark": {
            "version": pyspark.__version__,
            "master": spark.sparkContext.master,
            "regularization": REGULARIZATION,
        },
    }
