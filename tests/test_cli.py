"""``python -m training`` as a user runs it: real files, real subprocesses."""

import hashlib
import os

import numpy as np
import pytest

from training.core import serving_files
from training.core.artifact import load_model

from tests.training_helpers import run_training as run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "likes.psv"
    result = run("demo", "--out", path, "--users", 400, "--models", 150, "--seed", 3)
    assert result.returncode == 0, result.stderr
    return path


def test_demo_is_deterministic(tmp_path, small_demo):
    again = tmp_path / "again.psv"
    assert run("demo", "--out", again, "--users", 400, "--models", 150, "--seed", 3).returncode == 0
    other = tmp_path / "other.psv"
    assert run("demo", "--out", other, "--users", 400, "--models", 150, "--seed", 4).returncode == 0
    assert again.read_bytes() == small_demo.read_bytes()
    assert other.read_bytes() != small_demo.read_bytes()


@pytest.mark.parametrize("models", [4, 30])
def test_a_small_demo_is_written(tmp_path, models):
    result = run("demo", "--out", tmp_path / "d.psv", "--users", 50, "--models", models)
    assert result.returncode == 0, result.stderr
    assert f"of 50 users on {models} models" in result.stdout


def test_prepare_prints_the_reference_report(small_demo):
    result = run("prepare", small_demo)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Duplicated rows: ")
    assert lines[1] == "Starting likes info" and lines[5] == "Ending likes info"
    assert lines[2] == "Number of users: 400"
    assert lines[8].startswith("Sparsity: ") and lines[8].endswith("%")


def test_fit_writes_the_documented_artifact(tmp_path, small_demo):
    out = tmp_path / "models" / "model.npz"
    result = run("fit", small_demo, "--out", out, "--factors", 8, "--iterations", 3, "--alpha", 10)
    assert result.returncode == 0, result.stderr
    with np.load(out, allow_pickle=False) as z:
        assert z["item_factors"].dtype == np.float32
        assert z["likes_indptr"].dtype == np.int64 and z["likes_indices"].dtype == np.int64
        assert z["like_counts"].dtype == np.int64
        assert z["mids"].dtype.kind == "U" and z["names"].dtype.kind == "U"
    model = load_model(out)
    assert model.item_factors.shape == (len(model.mids), 8)
    assert model.meta["params"] == {
        "factors": 8,
        "regularization": 0.1,
        "alpha": 10.0,
        "iterations": 3,
    }
    assert model.meta["confidence"] == "1+alpha*d"
    assert model.meta["dataset"]["sha256"] == hashlib.sha256(small_demo.read_bytes()).hexdigest()
    assert set(model.meta["versions"]) == {"implicit", "numpy", "scipy"}
    np.testing.assert_array_equal(np.diff(model.likes_indptr), model.like_counts)
    assert model.model_users.shape[0] == len(model.mids)
    assert os.listdir(out.parent) == ["model.npz"]


def test_fit_records_the_similarity_exponent(tmp_path, small_demo):
    base = ["fit", small_demo, "--factors", 4, "--iterations", 1]
    assert run(*base, "--out", tmp_path / "cosine.npz").returncode == 0
    assert load_model(tmp_path / "cosine.npz").meta["similarity_exponent"] == 1.0
    chosen = run(*base, "--out", tmp_path / "half.npz", "--similarity-exponent", 0.5)
    assert chosen.returncode == 0, chosen.stderr
    assert "neighbours by similarity exponent 0.5" in chosen.stdout
    assert load_model(tmp_path / "half.npz").meta["similarity_exponent"] == 0.5


def test_failed_fit_leaves_the_existing_model_byte_identical(tmp_path, small_demo):
    out = tmp_path / "active.npz"
    assert run("fit", small_demo, "--out", out, "--factors", 4, "--iterations", 1).returncode == 0
    before = out.read_bytes()
    bad = tmp_path / "bad.psv"
    bad.write_text("modelname|mid|uid\na|m|u\nb||u\n", encoding="utf-8")
    result = run("fit", bad, "--out", out)
    assert result.returncode == 2
    assert out.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["active.npz", "bad.psv"]


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty file"),
        (b"modelname,mid,uid\na,m,u\n", ":1: expected the header"),
        (b"modelname|mid|uid\na|m|u\nb|n\n", ":3: expected 3 fields, got 2"),
        (b"modelname|mid|uid\na||u\n", ":2: empty mid"),
        (b"modelname|mid|uid\na|m|\n", ":2: empty uid"),
        (b"modelname|mid|uid|count\na|m|u|-1\n", ":2: count '-1' is not a positive number"),
        (b"modelname|mid|uid\n\x89PNG\r\n", ":2: not UTF-8 text"),
    ],
)
@pytest.mark.parametrize("command", ["prepare", "fit"])
def test_bad_input_is_one_line_and_status_2(tmp_path, content, message, command):
    path = tmp_path / "likes.psv"
    path.write_bytes(content)
    extra = ["--out", tmp_path / "m.npz"] if command == "fit" else []
    result = run(command, path, *extra)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert str(path) in result.stderr and message in result.stderr
    assert not (tmp_path / "m.npz").exists()


def test_skip_bad_rows_reports_and_goes_on(tmp_path, small_demo):
    path = tmp_path / "likes.psv"
    path.write_bytes(small_demo.read_bytes() + b"x||u\ny|m\n")
    result = run("prepare", path, "--skip-bad-rows")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "Skipped bad rows: 2"


@pytest.mark.parametrize(
    "args",
    [
        ["fit", "x.psv"],  # --out missing
        ["fit", "x.psv", "--out", "m.npz", "--factors", "0"],
        ["fit", "x.psv", "--out", "m.npz", "--alpha", "-1"],
        ["fit", "x.psv", "--out", "m.npz", "--engine", "spark"],
        ["fit", "x.psv", "--out", "m.npz", "--similarity-exponent", "-1"],
        ["fit", "x.psv", "--out", "m.npz", "--objective", "mse"],
        ["prepare", "x.psv", "--min-user-likes", "abc"],
        ["foldin-eval", "x.psv", "--few", "0"],
        ["foldin-eval", "x.psv", "--fraction", "2"],
        ["nonsense"],
    ],
)
def test_bad_arguments_are_one_line_and_status_2(args):
    result = run(*args)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "error:" in result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["fit", "x.psv", "--out", "m.npz", "--iterations", "100000000"], "not from 1 to 1000"),
        (["fit", "x.psv", "--out", "m.npz", "--factors", "5000"], "not from 1 to 1024"),
        (["fit", "x.psv", "--out", "m.npz", "--alpha", "1e300"], "not a number from 0 to 1e+06"),
        (["search", "x.psv", "--out", "r.json", "--epochs", "2:9999:2"], "past 1000 epochs"),
        (["demo", "--out", "d.psv", "--models", "3"], "'3' is not at least 4"),
    ],
)
def test_values_past_the_bounds_are_refused_in_one_line(args, message):
    result = run(*args)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert message in result.stderr


def test_missing_file_and_too_strict_thresholds(tmp_path, small_demo):
    result = run("prepare", tmp_path / "nope.psv")
    assert result.returncode == 2 and "nope.psv: cannot read" in result.stderr
    result = run("prepare", small_demo, "--min-user-likes", 10000)
    assert result.returncode == 2 and "no likes left after thresholding" in result.stderr


def test_foldin_eval_prints_four_rows(small_demo):
    result = run("foldin-eval", small_demo, "--factors", 8, "--iterations", 4, "--few", 2)
    assert result.returncode == 0, result.stderr
    assert "8 factors, regularization 0.1, alpha 50, 4 iterations" in result.stdout
    rows = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in result.stdout.splitlines()
        if line.startswith("|")
    ]
    assert rows[0] == ["users", "p@5 test", "/ trained", "/ popularity"]
    assert [r[0] for r in rows[1:]] == ["trained", "folded in", "folded in, 2 likes", "popularity"]
    assert rows[1][2] == "1.00x" and rows[4][3] == "1.00x"
    patk = [float(r[1]) for r in rows[1:]]
    assert all(0 < p <= 1 for p in patk)


@pytest.mark.slow
def test_index_builds_the_serving_folder_and_rejects_what_is_not_a_model(tmp_path, demo_model):
    result = run("index", demo_model.path, "--ann-threshold", 100)
    assert result.returncode == 0, result.stderr
    folder, calibration = result.stdout.strip().split("\n")
    # The calibration's one line says whether the index was kept (the demo is small: the
    # exact search may well be cheaper than any approximate setting).
    kept = calibration.startswith("approximate neighbours: recall@10")
    assert kept or calibration.startswith("exact neighbours: no approximate setting")
    assert sorted(os.listdir(folder)) == sorted(
        [f"{name}.npy" for name in serving_files.ARRAYS]
        + [serving_files.NAMES_FILE, serving_files.CALIBRATION_FILE, serving_files.IN_USE]
        + ([serving_files.ANN_FILE] if kept else [])
    )
    for content in (b"not a zip", None):
        path = tmp_path / "bad.npz"
        if content is None:
            np.savez(path, item_factors=np.eye(2))
        else:
            path.write_bytes(content)
        result = run("index", path)
        assert result.returncode == 2 and result.stderr.count("\n") == 1
        assert str(path) in result.stderr and "Traceback" not in result.stderr
    assert not list(tmp_path.glob("*.serving"))
