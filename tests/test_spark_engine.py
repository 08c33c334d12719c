"""``--engine spark``: Spark MLlib in local mode on small real files, one SparkSession per run.

The session splits input files into 1 MiB blocks, so multi-block reading and
line numbers across blocks are exercised on small files.
"""

import os
import signal
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

from training import wrmf
from training.core import artifact
from training.core.errors import BadInput
from training.core.likes import file_sha256, read_likes, write_likes
from training.core.params import Params
from training.core.prepare import prepare
from training.demo import write_demo
from training.evaluation import Evaluation
from training.split import split_likes

from tests.admin_server import free_port
from tests.training_helpers import planted_group_share
from tests.training_helpers import run_training as run

# Before anything imports pyspark or pyarrow: without the Spark extra this file is skipped.
pyspark = pytest.importorskip("pyspark")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
spark_engine = pytest.importorskip("training.spark.engine")
session = pytest.importorskip("training.spark.session")

pytestmark = pytest.mark.slow

PARAMS = Params(factors=40, regularization=0.1, alpha=50.0)
BLOCK_BYTES = 1 << 20


@pytest.fixture(scope="session")
def spark():
    spark = session.get_session("local[2]", app_name="sketchrec-tests")
    spark.conf.set("spark.sql.files.maxPartitionBytes", str(BLOCK_BYTES))
    yield spark
    spark.stop()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """``(path, Demo)`` of the default demo likes (3000 users x 2000 models)."""
    path = tmp_path_factory.mktemp("spark-demo") / "demo.psv"
    return str(path), write_demo(str(path))


@pytest.fixture(scope="module")
def demo_prepared(spark, demo):
    return spark_engine.prepare(spark, demo[0])


def test_prepare_matches_the_default_engine(tmp_path, demo, demo_prepared):
    path, _ = demo
    assert os.path.getsize(path) > 3 * BLOCK_BYTES
    expected = prepare(read_likes(path))
    assert demo_prepared.report() == expected.report()
    np.testing.assert_array_equal(demo_prepared.mids, expected.mids)
    np.testing.assert_array_equal(demo_prepared.names, expected.names)
    # Users are numbered by first appearance too, so the patterns are equal cell for cell.
    by_model = expected.likes.T.tocsr()
    by_model.sort_indices()
    indptr, indices = spark_engine.likes_by_model(demo_prepared, str(tmp_path))
    np.testing.assert_array_equal(indptr, by_model.indptr)
    np.testing.assert_array_equal(indices, by_model.indices)


def test_the_likes_pattern_comes_in_blocks_of_models(tmp_path, demo_prepared, monkeypatch):
    whole = spark_engine.likes_by_model(demo_prepared, str(tmp_path))
    monkeypatch.setattr(spark_engine, "LIKES_PER_BLOCK", 1000)
    blocks = list(spark_engine._blocks(whole[0]))
    assert len(blocks) > 10 and all(whole[0][hi] - whole[0][lo] <= 1000 for lo, hi in blocks)
    (tmp_path / "blocks").mkdir()
    in_blocks = spark_engine.likes_by_model(demo_prepared, str(tmp_path / "blocks"))
    np.testing.assert_array_equal(in_blocks[0], whole[0])
    np.testing.assert_array_equal(in_blocks[1], whole[1])


def test_artifact_loads_and_neighbours_share_the_planted_group(
    tmp_path, spark, demo, demo_prepared
):
    path, generated = demo
    factors = spark_engine.fit_als(
        demo_prepared.ratings, demo_prepared.users, len(demo_prepared.mids), PARAMS, iterations=15
    )
    meta = artifact.build_meta(
        PARAMS, 15, spark_engine.dataset(path, demo_prepared), **spark_engine.meta_extras(spark)
    )
    out = str(tmp_path / "model.npz")
    indptr, indices = spark_engine.likes_by_model(demo_prepared, str(tmp_path))
    artifact.write_model(
        out, factors.item_factors, demo_prepared.mids, demo_prepared.names, indptr, indices, meta
    )
    model = artifact.load_model(out)
    assert model.meta["engine"] == "spark" and model.meta["spark"]["master"] == "local[2]"
    assert "ALS-WR" in model.meta["spark"]["regularization"]
    assert model.meta["dataset"]["sha256"] == file_sha256(path)

    share = planted_group_share(model.item_factors, model.mids, generated.group_of)
    assert share.mean() >= 0.8, share.mean()


def ratings_frame(spark, likes):
    """A users x models likes CSR (d_ui) as a ``ratings`` DataFrame for ``fit_als``."""
    coo = sp.coo_matrix(likes)
    return spark.createDataFrame(
        pa.table(
            {
                "user": coo.row.astype(np.int32),
                "model": coo.col.astype(np.int32),
                "count": coo.data.astype(np.float32),
            }
        )
    )


def test_test_patk_within_15_percent_of_the_default_engine(spark, demo):
    split = split_likes(prepare(read_likes(demo[0])).likes, seed=0)
    evaluate = Evaluation(split, k=5)
    default = wrmf.fit(split.train, PARAMS, iterations=15, seed=0)
    expected = evaluate(15, default.user_factors, default.item_factors).patk_test
    ratings = ratings_frame(spark, split.train)
    factors = spark_engine.fit_als(ratings, *split.train.shape, PARAMS, iterations=15)
    got = evaluate(15, factors.user_factors, factors.item_factors).patk_test
    assert expected > 0.1
    assert abs(got - expected) <= 0.15 * expected, (got, expected)


def test_part_files_and_parquet_read_as_the_single_file(tmp_path, spark, demo, demo_prepared):
    rows = [tuple(r) for r in read_rows_of(demo[0])]
    parts = tmp_path / "likes"
    parts.mkdir()
    for i in range(3):
        write_likes(str(parts / f"part-{i:05d}.psv"), rows[i::3])
    write_likes(str(parts / "part-00003.psv"), [])  # a header-only part, as Spark writers leave
    from_parts = spark_engine.prepare(spark, str(parts))
    assert from_parts.report() == demo_prepared.report()
    assert sorted(from_parts.mids) == sorted(demo_prepared.mids)

    columns = list(zip(*rows, strict=True))
    table = pa.table({"modelname": columns[0], "mid": columns[1], "uid": columns[2]})
    parquet = tmp_path / "likes.parquet"
    pq.write_table(table, str(parquet), row_group_size=5000)
    from_parquet = spark_engine.prepare(spark, str(parquet))
    assert from_parquet.report() == demo_prepared.report()
    np.testing.assert_array_equal(from_parquet.mids, demo_prepared.mids)


def read_rows_of(path):
    import csv

    from training.core.likes import Dialect

    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.reader(f, Dialect))[1:]


BAD = [
    b"",
    b"modelname,mid,uid\na,m,u\n",
    b"modelname|mid|uid\na|m|u\nb|n\n",
    b"modelname|mid|uid\na||u\n",
    b"modelname|mid|uid\na|m|\n",
    b"modelname|mid|uid|count\na|m|u|-1\n",
    b"modelname|mid|uid|count\na|m|u|x\n",
    b"modelname|mid|uid\n\x89PNG\r\n",
    b"\x89PNG|mid|uid\na|m|u\n",
    b"modelname|mid|uid\n\\unclosed|m|u\n",
]


@pytest.mark.parametrize("content", BAD)
def test_bad_input_gives_the_default_engines_message(tmp_path, spark, content):
    path = tmp_path / "likes.psv"
    path.write_bytes(content)
    with pytest.raises(BadInput) as expected:
        read_likes(str(path))
    with pytest.raises(BadInput) as got:
        spark_engine.prepare(spark, str(path))
    assert str(got.value) == str(expected.value)


def test_bad_row_deep_in_a_later_block_names_its_line(tmp_path, spark, demo):
    path = tmp_path / "likes.psv"
    lines = open(demo[0], "rb").read().splitlines(keepends=True)
    bad_at = len(lines) - 100
    lines[bad_at] = b"name|mid|\n"
    path.write_bytes(b"".join(lines))
    with pytest.raises(BadInput) as got:
        spark_engine.prepare(spark, str(path))
    assert str(got.value) == f"{path}:{bad_at + 1}: empty uid"


def test_skip_bad_rows_counts_them(tmp_path, spark):
    path = tmp_path / "likes.psv"
    good = [(f"n{m}", f"m{m}", f"u{u}") for u in range(6) for m in range(6)]
    write_likes(str(path), good)
    path.write_bytes(path.read_bytes() + b"x||u\ny|m\n")
    prepared = spark_engine.prepare(spark, str(path), skip_bad_rows=True)
    assert prepared.skipped_rows == 2 and prepared.after.likes == 36


def fit_and_serve(likes, out, master, make_app):
    """``fit --engine spark`` through the CLI on ``master``; check the app serves the result.

    Returns ``(result, model)``: the finished subprocess and the loaded artifact.
    """
    result = run_spark(
        "fit", likes, "--engine", "spark", "--spark-master", master, "--out", out,
        "--factors", 16, "--iterations", 5,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    model = artifact.load_model(str(out))
    assert model.meta["engine"] == "spark" and model.meta["params"]["iterations"] == 5
    assert model.meta["spark"]["master"] == master
    response = make_app(str(out)).test_client().get(f"/api/models/{model.mids[0]}/similar?k=5")
    assert response.status_code == 200 and len(response.get_json()["similar"]) == 5
    return result, model


def test_cli_fit_writes_an_artifact_the_web_app_serves(tmp_path, small_likes, make_app):
    result, _ = fit_and_serve(small_likes, tmp_path / "spark.npz", "local[2]", make_app)
    assert result.stdout.splitlines()[:9] == run("prepare", small_likes).stdout.splitlines()
    assert result.stderr == ""


@pytest.fixture(scope="module")
def standalone_cluster(tmp_path_factory):
    """A Spark standalone master and one worker (2 cores) on 127.0.0.1: the master URL.

    Started from pyspark's own ``spark-class``, as an operator's cluster would
    be; its executors run this interpreter (``PYSPARK_PYTHON``).
    """
    home = os.path.dirname(pyspark.__file__)
    env = {**os.environ, "SPARK_HOME": home, "SPARK_LOG_DIR": str(tmp_path_factory.mktemp("log"))}
    port = free_port()
    url = f"spark://127.0.0.1:{port}"
    spark_class = [os.path.join(home, "bin", "spark-class"), "org.apache.spark.deploy"]
    roles = [
        ["master.Master", "--host", "127.0.0.1", "--port", str(port)],
        ["worker.Worker", "--host", "127.0.0.1", "--cores", "2", "--memory", "2g", url],
    ]
    processes = []
    try:
        for role in roles:
            command = [spark_class[0], f"{spark_class[1]}.{role[0]}", *role[1:]]
            command += ["--webui-port", str(free_port())]
            processes.append(
                subprocess.Popen(
                    command,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )
        yield url
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)


def test_cli_fit_against_a_standalone_cluster_writes_the_same_kind_of_artifact(
    tmp_path, small_likes, make_app, standalone_cluster, monkeypatch
):
    monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)
    fit_and_serve(small_likes, tmp_path / "cluster.npz", standalone_cluster, make_app)


def test_cli_bad_input_is_one_line_and_status_2(tmp_path):
    path = tmp_path / "likes.psv"
    path.write_bytes(b"modelname|mid|uid\na|m|u\nb||u\n")
    result = run_spark(
        "fit", path, "--engine", "spark", "--spark-master", "local[1]", "--out", tmp_path / "m.npz"
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr == f"error: {path}:3: empty mid\n"
    assert not (tmp_path / "m.npz").exists()


def run_spark(*args):
    """``python -m training ARGS`` with time for a JVM start on a busy machine."""
    return run(*args, timeout=600)
