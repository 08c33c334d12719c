"""The likes reader: the post's format, hostile names, every bad input named."""

import pytest

from training.core.errors import BadInput, BadRow
from training.core.likes import read_likes, write_likes

HOSTILE = [
    "A | B",
    "back\\slash",
    'say "hi"',
    "<script>alert(1)</script>",
    "Ünïcödé 模型 🦊",
    "two\nlines",
    "\\starts with quote char",
    "",
]


def write(tmp_path, text, name="likes.psv"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return str(path)


def test_hostile_names_round_trip(tmp_path):
    path = str(tmp_path / "likes.psv")
    rows = [(name, f"m{i}", f"u{i}") for i, name in enumerate(HOSTILE)]
    write_likes(path, rows)
    likes = read_likes(path)
    assert likes.names == HOSTILE
    assert likes.mids == [f"m{i}" for i in range(len(HOSTILE))]
    assert likes.uids == [f"u{i}" for i in range(len(HOSTILE))]


def test_delimiter_in_name_is_quoted_with_backslash(tmp_path):
    path = tmp_path / "likes.psv"
    write_likes(str(path), [("A | B", "m", "u")])
    assert path.read_text(encoding="utf-8").splitlines()[1] == "\\A | B\\|m|u"


def test_reads_the_reference_format_and_interns_ids(tmp_path):
    path = write(
        tmp_path,
        "modelname|mid|uid\n"
        "3D fanart Noel|5dce|7ac1\n"
        "\\Rock | Stone\\|aaaa|7ac1\n"
        "3D fanart Noel|5dce|2b4a\n",
    )
    likes = read_likes(path)
    assert likes.mids == ["5dce", "aaaa"]
    assert likes.names == ["3D fanart Noel", "Rock | Stone"]
    assert likes.uids == ["7ac1", "2b4a"]
    assert likes.user.tolist() == [0, 0, 1]
    assert likes.model.tolist() == [0, 1, 0]
    assert likes.count.tolist() == [1.0, 1.0, 1.0]


def test_count_column(tmp_path):
    path = write(tmp_path, "modelname|mid|uid|count\na|m|u|3\nb|n|u|0.5\n")
    assert read_likes(path).count.tolist() == [3.0, 0.5]


@pytest.mark.parametrize(
    "body, line, reason",
    [
        ("modelname|mid|uid\na|m|u\nb|n\n", 3, "expected 3 fields, got 2"),
        ("modelname|mid|uid\na|m|u\nb|m|u|x\n", 3, "expected 3 fields, got 4"),
        ("modelname|mid|uid\na||u\n", 2, "empty mid"),
        ("modelname|mid|uid\na|m|\n", 2, "empty uid"),
        ("modelname|mid|uid\na|m|u\nb|..|u\n", 3, "mid '..' cannot be a URL path segment"),
        ("modelname|mid|uid\na|.|u\n", 2, "mid '.' cannot be a URL path segment"),
        ("modelname|mid|uid\na|a/b|u\n", 2, "mid 'a/b' cannot be a URL path segment"),
        ("modelname|mid|uid|count\na|m|u|1\na|m|v|0\n", 3, "count '0' is not a positive number"),
        ("modelname|mid|uid|count\na|m|u|-2\n", 2, "count '-2' is not a positive number"),
        ("modelname|mid|uid|count\na|m|u|nan\n", 2, "count 'nan' is not a positive number"),
        ("modelname|mid|uid|count\na|m|u|many\n", 2, "count 'many' is not a number"),
        ("modelname|mid|uid\na|m|u\n\\never closed|m|u\n", 3, "malformed row"),
        ("name|id|user\na|m|u\n", 1, "expected the header"),
        ("a|m|u\nb|n|v\n", 1, "expected the header"),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path, body, line, reason):
    path = write(tmp_path, body)
    with pytest.raises(BadRow) as error:
        read_likes(path)
    assert error.value.line == line
    assert str(error.value).startswith(f"{path}:{line}: ")
    assert reason in str(error.value)


def test_not_utf8_names_the_line(tmp_path):
    path = write(tmp_path, b"modelname|mid|uid\na|m|u\nb|n|u\n\xff\xfe|o|u\n")
    with pytest.raises(BadRow, match=r":4: not UTF-8 text"):
        read_likes(path)


def test_empty_file(tmp_path):
    path = write(tmp_path, "")
    with pytest.raises(BadInput, match="empty file"):
        read_likes(path)


def test_skip_bad_rows_counts_them(tmp_path):
    path = write(tmp_path, "modelname|mid|uid\na|m|u\nb||u\nc|n\nd|o|v\n")
    likes = read_likes(path, skip_bad_rows=True)
    assert likes.skipped_rows == 2
    assert likes.mids == ["m", "o"]
