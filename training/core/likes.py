"""Read and write the post's likes file.

Format: UTF-8 text, ``|``-delimited, header ``modelname|mid|uid`` and an
optional fourth column ``count`` (d_ui > 0, default 1), csv QUOTE_MINIMAL with
``\\`` as the quote character. One row per like. The reader streams the file
and interns ids into integer indices as it goes, so memory is a few bytes per
like plus one string per distinct user and model.
"""

import csv
import hashlib
import math
from array import array
from dataclasses import dataclass

import numpy as np

from .errors import BadInput, BadRow

HEADER = ["modelname", "mid", "uid"]
COUNT_HEADER = HEADER + ["count"]


class Dialect(csv.Dialect):
    """The post's dialect: pandas ``sep='|', quotechar='\\\\'``, QUOTE_MINIMAL."""

    delimiter = "|"
    quotechar = "\\"
    doublequote = True
    quoting = csv.QUOTE_MINIMAL
    lineterminator = "\n"
    skipinitialspace = False
    strict = True


@dataclass
class Likes:
    """Likes as read from a file, one entry per row.

    ``user[r]``/``model[r]`` index ``uids``/``mids`` (int32 [rows]); ``count[r]``
    is d_ui (float32 [rows]); ``names[m]`` is the first name seen for ``mids[m]``.
    """

    path: str
    uids: list
    mids: list
    names: list
    user: np.ndarray
    model: np.ndarray
    count: np.ndarray
    skipped_rows: int = 0


def read_likes(path, skip_bad_rows=False):
    """Stream the likes file at ``path`` into a :class:`Likes`.

    Raises :class:`BadInput` (``path:line: reason``) for an empty file, a bad
    header, text that is not UTF-8 or a bad row; with ``skip_bad_rows`` bad
    rows are counted in ``skipped_rows`` instead.
    """
    try:
        with open(path, "rb") as f:
            return _read(_decoded_lines(f, path), path, skip_bad_rows)
    except OSError as e:
        raise BadInput(f"{path}: cannot read: {e.strerror}") from None


def _decoded_lines(f, path):
    """Decode a binary file line by line, so a bad byte is reported with its line."""
    for number, raw in enumerate(f, 1):
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRow(path, number, "not UTF-8 text") from None


def _read(lines, path, skip_bad_rows):
    reader = csv.reader(lines, Dialect)
    header = _header(reader, path)
    has_count = len(header) == 4
    uid_index, mid_index, names = {}, {}, []
    user, model, count = array("i"), array("i"), array("f")
    skipped = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            row = e  # a malformed record is a bad row at the reader's line
        try:
            mid, uid, name, d = _parse(row, has_count, path, reader.line_num)
        except BadRow:
            if not skip_bad_rows:
                raise
            skipped += 1
            continue
        m = mid_index.setdefault(mid, len(mid_index))
        if m == len(names):
            names.append(name)
        user.append(uid_index.setdefault(uid, len(uid_index)))
        model.append(m)
        count.append(d)
    return Likes(
        path=path,
        uids=list(uid_index),
        mids=list(mid_index),
        names=names,
        user=np.frombuffer(user, dtype=np.int32).copy(),
        model=np.frombuffer(model, dtype=np.int32).copy(),
        count=np.frombuffer(count, dtype=np.float32).copy(),
        skipped_rows=skipped,
    )


def _header(reader, path):
    try:
        header = next(reader)
    except StopIteration:
        raise BadInput(f"{path}: empty file, expected the header modelname|mid|uid") from None
    except csv.Error as e:
        raise BadRow(path, 1, f"unreadable header: {e}") from None
    cleaned = [h.strip().lstrip("\ufeff") for h in header]
    if cleaned not in (HEADER, COUNT_HEADER):
        raise BadRow(
            path, 1, f"expected the header modelname|mid|uid[|count], got {'|'.join(header)!r}"
        )
    return cleaned


def _parse(row, has_count, path, line):
    """Return ``(mid, uid, name, d)`` of one row or raise :class:`BadRow`."""
    if isinstance(row, csv.Error):
        raise BadRow(path, line, f"malformed row: {row}")
    want = 4 if has_count else 3
    if len(row) != want:
        raise BadRow(path, line, f"expected {want} fields, got {len(row)}")
    name, mid, uid = row[0], row[1].strip(), row[2].strip()
    if problem := mid_problem(mid):
        raise BadRow(path, line, problem)
    if not uid:
        raise BadRow(path, line, "empty uid")
    d = 1.0
    if has_count:
        try:
            d = float(row[3])
        except ValueError:
            raise BadRow(path, line, f"count {row[3]!r} is not a number") from None
        if not (d > 0 and math.isfinite(d)):
            raise BadRow(path, line, f"count {row[3]!r} is not a positive number")
    return mid, uid, name, d


def mid_problem(mid):
    """Why ``mid`` cannot be a model id, or None.

    A mid is one URL path segment of the web app (``/models/<mid>``), so it
    may not be empty, ``.``, ``..`` or contain ``/``.
    """
    if not mid.strip():
        return "empty mid"
    if mid in (".", "..") or "/" in mid:
        return f"mid {mid!r} cannot be a URL path segment"
    return None


def write_likes(path, rows, with_count=False):
    """Write ``rows`` of ``(name, mid, uid[, count])`` in the post's format.

    Not atomic by itself: callers writing a user-visible file wrap it in
    :func:`training.core.atomic.atomic_path`.
    """
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, Dialect)
        writer.writerow(COUNT_HEADER if with_count else HEADER)
        writer.writerows(rows)


def file_sha256(path):
    """Hex sha256 of the file at ``path``."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
