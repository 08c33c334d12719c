"""Name search through the FTS5 trigram index, against the plain casefolded substring scan."""

import numpy as np
import pytest

from training.core import name_index
from training.core.name_index import MAX_MATCHES, Matches, NameIndex

NAMES = [
    "Straße", "STRASSE", "strasse ", "İstanbul", "istanbul", 'a"b"c', "x y  z", "Σίσυφος",
    "ΣΊΣΥΦΟΣ", "ﬁne", "FINE", "fox 🦊🦊🦊", "a%b_c", "a\x00bcd", "tab\tbed", "  ", "", "ǅungla",
    "ǆUNGLA", "café", "cafe\u0301", "AAAAAA", "aaa", "<script>alert(1)</script>", "NEAR OR AND",
]  # fmt: skip
QUERIES = [
    "ss", "SS", "strasse", "STRASSE", "i̇stan", "İst", '"b"', '"', 'a"b', "y  z", "σίσυφος", "ς",
    "fine", "fi", "🦊🦊", "🦊", "%b_", "_", "a\x00b", "\x00", "\tb", "  ", " ", "é", "e\u0301",
    "aaa", "aaaa", "AAAAAAA", "ǆ", "ǆun", "or", "NEAR", "near or", "a OR b", "*", "^", "cafe",
    "<script>", "'); DROP TABLE names; --", "x", "zzzz",
]  # fmt: skip


def scan(names, popular, text):
    """The catalogue's search before the index: a casefolded substring scan, most liked first."""
    needle = text.casefold()
    return [row for row in popular.tolist() if needle in names[row].casefold()]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    names = np.array(NAMES)
    likes = np.arange(len(names))[::-1] % 4  # ties: the stable order keeps rows in file order
    popular = np.argsort(-likes, kind="stable")
    path = str(tmp_path_factory.mktemp("names") / "names.sqlite")
    name_index.build(path, names, popular)
    return names, popular, NameIndex(path)


@pytest.mark.parametrize("text", QUERIES)
def test_index_search_equals_the_scan_on_hostile_names(hostile, text):
    names, popular, index = hostile
    assert Matches(index, text, popular).tolist() == scan(names.tolist(), popular, text)


def test_pages_are_slices_of_the_full_answer(hostile):
    names, popular, index = hostile
    matches = Matches(index, "a", popular)
    everything = scan(names.tolist(), popular, "a")
    assert len(matches) == len(everything) and not matches.capped
    for start, stop in [(0, 3), (2, 7), (5, 100), (len(everything), len(everything) + 5), (4, 2)]:
        assert matches[start:stop].tolist() == everything[start:stop]


def test_counts_and_pages_stop_at_the_cap(tmp_path):
    names = np.array([f"model {i}" for i in range(MAX_MATCHES + 5)])
    popular = np.arange(len(names))[::-1].copy()
    path = str(tmp_path / "n.sqlite")
    name_index.build(path, names, popular)
    for text in ("mod", "m"):  # the index and the short-needle scan
        matches = Matches(NameIndex(path), text, popular)
        assert len(matches) == MAX_MATCHES and matches.capped
        assert matches[MAX_MATCHES - 2 : MAX_MATCHES + 3].tolist() == popular[-7:-5].tolist()


def test_short_needles_scan_only_the_most_liked_names(tmp_path, monkeypatch):
    monkeypatch.setattr(name_index, "SHORT_SCAN_RANKS", 3)
    names = np.array(["ab one", "two", "ab three", "four ab", "ab five"])
    popular = np.arange(len(names))
    path = str(tmp_path / "n.sqlite")
    name_index.build(path, names, popular)
    short, long = Matches(NameIndex(path), "ab", popular), Matches(NameIndex(path), "ab ", popular)
    assert short.tolist() == [0, 2] and short.capped
    assert long.tolist() == [0, 2, 4] and not long.capped
