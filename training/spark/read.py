"""Read likes with Spark, with the default engine's one-line errors.

Text input is the post's format (see :mod:`training.core.likes`): a file, a directory
of part files (each with its header) or any path Spark can read. Every line is
parsed by :mod:`training.core.likes`' own row parser, one line at a time (a quoted
name spanning lines, which the post's file never has, is a malformed row here).
Hadoop's line reader has already decoded the text, turning bytes that are not
UTF-8 into U+FFFD, so a line holding U+FFFD is reported as not UTF-8 text.

A path whose name ends in ``.parquet`` (a file or a directory of parts) is read
as Parquet with the columns ``modelname``, ``mid``, ``uid`` and optionally
``count``; its errors name the file and the 1-based row.

Rows carry their position (``file``, ``block`` start offset, ``idx`` within the
block), so the first bad row is found without numbering every line; its line
number is counted only when there is one to report.
"""

import csv
import os
from urllib.parse import urlparse

from pyspark.errors import AnalysisException
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ..core.errors import BadInput, BadRow
from ..core.likes import HEADER, Dialect, _header, _parse

ROWS = T.StructType(
    [
        T.StructField("mid", T.StringType()),
        T.StructField("uid", T.StringType()),
        T.StructField("name", T.StringType()),
        T.StructField("count", T.DoubleType()),
        T.StructField("file", T.StringType()),
        T.StructField("block", T.LongType()),
        T.StructField("idx", T.LongType()),
        T.StructField("reason", T.StringType()),
    ]
)


def read_rows(spark, path):
    """All rows of the likes at ``path`` as a DataFrame with the :data:`ROWS` schema.

    ``reason`` is null for a good row and says what is wrong otherwise. Raises
    :class:`BadInput` for a path that cannot be read, an empty input or a bad header.
    """
    _check_local(path)
    try:
        if _is_parquet(path):
            return _parquet_rows(spark, path)
        return _text_rows(spark, path)
    except AnalysisException as e:
        raise BadInput(f"{path}: cannot read: {str(e).splitlines()[0]}") from None


def first_bad_row(spark, path, rows):
    """Raise :class:`BadRow` for the first bad row (in path, then line order), if any."""
    bad = rows.where(F.col("reason").isNotNull()).orderBy("file", "block", "idx").limit(1).collect()
    if bad:
        row = bad[0]
        line = row.idx + 1 if row.block < 0 else _line_number(spark, row.file, row.block, row.idx)
        raise BadRow(_shown(path, row.file), line, row.reason)


def _check_local(path):
    """The default engine's message for a local path that does not exist."""
    if urlparse(path).scheme in ("", "file"):
        try:
            os.stat(path.removeprefix("file:"))
        except OSError as e:
            raise BadInput(f"{path}: cannot read: {e.strerror}") from None


def _is_parquet(path):
    return path.rstrip("/").endswith(".parquet")


def _text_rows(spark, path):
    lines = _lines(spark, path)
    headers = dict(lines.rdd.mapPartitions(_first_lines).collect())
    if not headers:
        raise BadInput(f"{path}: empty file, expected the header {'|'.join(HEADER)}")
    has_count = {}
    for file, line in sorted(headers.items()):
        if "\ufffd" in line:
            raise BadRow(_shown(path, file), 1, "not UTF-8 text")
        header = _header(csv.reader([line], Dialect), _shown(path, file))
        has_count[file] = len(header) == 4
    return spark.createDataFrame(
        lines.rdd.mapPartitions(lambda rows: _parse_lines(rows, has_count)), ROWS
    )


def _lines(spark, path):
    return spark.read.text(path).select(
        "value",
        F.col("_metadata.file_path").alias("file"),
        F.col("_metadata.file_block_start").alias("block"),
    )


def _blocks(rows):
    """``(file, block, idx, value)`` of text rows, numbering lines within each block."""
    key, idx = None, 0
    for value, file, block in rows:
        idx = idx + 1 if (file, block) == key else 0
        key = (file, block)
        yield file, block, idx, value


def _first_lines(rows):
    """``(file, line)`` of the first line of each file in a partition."""
    for file, block, idx, value in _blocks(rows):
        if block == 0 and idx == 0:
            yield file, value


def _parse_lines(rows, has_count):
    """Rows of the :data:`ROWS` schema from text rows; headers are skipped."""
    for file, block, idx, value in _blocks(rows):
        if block == 0 and idx == 0:
            continue
        try:
            if "\ufffd" in value:
                raise BadRow(file, 0, "not UTF-8 text")
            row = _csv_row(value)
            mid, uid, name, d = _parse(row, has_count[file], file, 0)
        except BadRow as e:
            yield None, None, None, None, file, block, idx, e.reason
            continue
        yield mid, uid, name, d, file, block, idx, None


def _csv_row(line):
    try:
        return next(csv.reader([line], Dialect), [])
    except csv.Error as e:
        return e


def _line_number(spark, file, block, idx):
    """1-based line in ``file`` of line ``idx`` of the block starting at byte ``block``."""
    before = _lines(spark, file).where(F.col("block") < block).count() if block else 0
    return before + idx + 1


def _parquet_rows(spark, path):
    frame = spark.read.parquet(path)
    missing = [c for c in HEADER if c not in frame.columns]
    if missing:
        raise BadInput(
            f"{path}: expected the columns modelname, mid, uid[, count], "
            f"missing {', '.join(missing)}"
        )
    mid, uid = F.trim(F.col("mid").cast("string")), F.trim(F.col("uid").cast("string"))
    count = F.col("count").cast("double") if "count" in frame.columns else F.lit(1.0)
    reason = (
        F.when(mid.isNull() | (mid == ""), F.lit("empty mid"))
        .when(uid.isNull() | (uid == ""), F.lit("empty uid"))
        .when(
            count.isNull() | F.isnan(count) | (count <= 0) | (count == float("inf")),
            F.concat(F.lit("count '"), count.cast("string"), F.lit("' is not a positive number")),
        )
    )
    # block -1 marks a row index rather than a line of text (Parquet has no header line).
    return frame.select(
        mid.alias("mid"),
        uid.alias("uid"),
        F.col("modelname").cast("string").alias("name"),
        count.alias("count"),
        F.col("_metadata.file_path").alias("file"),
        F.lit(-1).cast("long").alias("block"),
        F.col("_metadata.row_index").alias("idx"),
        reason.alias("reason"),
    )


def _shown(path, file):
    """How a file is named in messages: as the user gave it, else its local path or URI."""
    if os.path.isfile(path) and urlparse(file).scheme == "file":
        return path
    return file.removeprefix("file:") if file.startswith("file:/") else file
