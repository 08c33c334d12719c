"""Name search through SQLite FTS5's trigram index: substring matches, most liked first.

The index holds each name casefolded in Python (``str.casefold``, the same
fold the plain scan uses: "ß" matches "SS"), with its rank in the
most-liked-first order as the rowid. FTS5 answers a phrase query of
trigrams from the index and returns rowids in ascending order, so matches
arrive most liked first and a page is a ``LIMIT``/``OFFSET`` away. The
tokenizer runs with ``case_sensitive 1``: the text is folded already, so the
index compares exactly the characters the scan compares, with no second
fold of SQLite's own on top.

A trigram index cannot answer a needle of fewer than 3 characters (nor one
with a NUL, where FTS5's query parser stops); those scan the names in rank
order with ``instr`` on UTF-8 bytes and stop once a page (or the count cap)
is filled, so common short needles return at once. A rare short needle
would read every name, so the scan stops at the :data:`SHORT_SCAN_RANKS`
most liked: past that many models its answer is the matches among them
(``Matches.capped`` says there may be more).

Counting is capped at :data:`MAX_MATCHES`: past that, pages would be
thousands deep and an exact count of a common trigram costs a walk of its
whole posting list.
"""

import os
import sqlite3
import threading
import urllib.parse

from .atomic import atomic_path

MAX_MATCHES = 10_000  # matches counted and paged at most
SHORT_SCAN_RANKS = 100_000  # names a needle the index cannot answer is looked for in
TRIGRAM = 3  # characters the tokenizer needs for an indexed query
BATCH = 50_000  # names inserted per executemany


def build(path, names, popular):
    """Write the index for ``names`` (str array [models]) to ``path``, atomically.

    ``popular`` int [models] is the most-liked-first order of rows; rank
    ``r`` (the rowid) stands for row ``popular[r]``.
    """
    with atomic_path(path, suffix=".sqlite") as tmp:
        os.remove(tmp)  # sqlite creates it; an empty file would be taken as a database
        db = sqlite3.connect(tmp)
        try:
            db.executescript(
                "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
                "CREATE TABLE names(rank INTEGER PRIMARY KEY, folded TEXT NOT NULL);"
                "CREATE VIRTUAL TABLE grams USING fts5(folded, content='names',"
                " content_rowid='rank', tokenize='trigram case_sensitive 1');"
            )
            for start in range(0, len(popular), BATCH):
                rows = popular[start : start + BATCH]
                db.executemany(
                    "INSERT INTO names VALUES (?, ?)",
                    zip(range(start, start + len(rows)), _folded(names, rows), strict=True),
                )
            db.execute("INSERT INTO grams(grams) VALUES ('rebuild')")
            db.execute("INSERT INTO grams(grams) VALUES ('optimize')")
            db.commit()
        finally:
            db.close()


def _folded(names, rows):
    return (str(names[row]).casefold() for row in rows.tolist())


class NameIndex:
    """A built index opened read-only; one SQLite connection per thread."""

    def __init__(self, path):
        self._uri = f"file:{urllib.parse.quote(os.path.abspath(path))}?mode=ro&immutable=1"
        self._local = threading.local()

    def _db(self):
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = sqlite3.connect(self._uri, uri=True, check_same_thread=False)
        return db

    def ranks(self, text, offset=0, limit=MAX_MATCHES):
        """Ranks (ints, ascending) of the names containing ``text`` casefolded, from ``offset``."""
        limit = max(0, min(limit, MAX_MATCHES - offset))
        query, argument = _query(text.casefold())
        rows = self._db().execute(f"{query} LIMIT ? OFFSET ?", (argument, limit, offset))
        return [rank for (rank,) in rows]

    def count(self, text):
        """How many names contain ``text`` casefolded, at most :data:`MAX_MATCHES`."""
        query, argument = _query(text.casefold())
        sql = f"SELECT count(*) FROM ({query} LIMIT ?)"
        return self._db().execute(sql, (argument, MAX_MATCHES)).fetchone()[0]


def _query(needle):
    """SQL selecting matching ranks in order, and its one argument."""
    if indexed(needle):
        phrase = '"' + needle.replace('"', '""') + '"'
        return "SELECT rowid FROM grams WHERE grams MATCH ? ORDER BY rowid", phrase
    # As blobs: UTF-8 byte substrings are character substrings, and a NUL is just a byte.
    scan = "SELECT rank FROM names WHERE instr(CAST(folded AS BLOB), ?) > 0"
    return f"{scan} AND rank < {SHORT_SCAN_RANKS} ORDER BY rank", needle.encode()


def indexed(needle):
    """True when the trigram index answers the casefolded ``needle``, not the bounded scan."""
    return len(needle) >= TRIGRAM and "\0" not in needle  # FTS5 query strings end at a NUL


class Matches:
    """The rows whose names contain ``text``, most liked first, as a lazy sequence.

    ``len()`` is the capped count; slicing runs one page query. ``popular``
    maps ranks to rows. ``capped`` is True when there may be more matches: the
    count reached :data:`MAX_MATCHES`, or a short needle's scan stopped at
    :data:`SHORT_SCAN_RANKS`.
    """

    def __init__(self, index, text, popular):
        self._index, self._text, self._popular = index, text, popular
        self._len = index.count(text)
        self.capped = self._len >= MAX_MATCHES or (
            not indexed(text.casefold()) and len(popular) > SHORT_SCAN_RANKS
        )

    def __len__(self):
        return self._len

    def __getitem__(self, item):
        start, stop, step = item.indices(self._len)
        if step != 1:
            raise ValueError("Matches supports contiguous slices only")
        return self._popular[self._index.ranks(self._text, start, max(0, stop - start))]

    def tolist(self):
        """All matching rows, most liked first (up to the cap)."""
        return self._popular[self._index.ranks(self._text)].tolist()
