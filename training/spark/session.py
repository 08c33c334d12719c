"""A SparkSession for the command line: quiet on stderr, the training code shipped to workers."""

import atexit
import contextlib
import os
import shutil
import sys
import tempfile

from pyspark.sql import SparkSession

# Local mode runs executors inside the driver JVM, whose default heap (1 GB)
# is too small past a few million likes; SPARK_DRIVER_MEMORY overrides it.
LOCAL_DRIVER_MEMORY = "4g"
# Spark's default of 200 shuffle partitions is for clusters; on a few local cores
# their per-task overhead dominates at the sizes one machine holds.
LOCAL_SHUFFLE_PARTITIONS = "8"
# ALS checkpoints its factors every 10 iterations only when the context has a
# checkpoint folder; without one the lineage grows each iteration until a task's
# deserialisation overflows the stack (seen in the tests at 15 iterations). A
# cluster needs a folder every executor reaches (HDFS, S3, NFS): this variable.
CHECKPOINT_DIR_VARIABLE = "SKETCHREC_SPARK_CHECKPOINT_DIR"


def is_local(master):
    """True for ``local``, ``local[N]`` and ``local[*]``: executors live in the driver JVM."""
    return master == "local" or master.startswith("local[")


def get_session(master, app_name="sketchrec-fit"):
    """The active SparkSession for ``master``, started if there is none.

    The JVM's own stderr (startup notes, log4j warnings) goes to a log file in
    the temporary folder, so the command line prints only its own lines. The
    ``training`` package is shipped to the Python workers as a zip, so a
    cluster needs nothing of Sketchrec installed.
    """
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    builder = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.ui.showConsoleProgress", "false")
    )
    if is_local(master):
        builder = builder.config("spark.ui.enabled", "false").config(
            "spark.sql.shuffle.partitions", LOCAL_SHUFFLE_PARTITIONS
        )
        if "SPARK_DRIVER_MEMORY" not in os.environ:
            builder = builder.config("spark.driver.memory", LOCAL_DRIVER_MEMORY)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    with _stderr_to(os.path.join(tempfile.gettempdir(), f"sketchrec-spark-{os.getpid()}.log")):
        spark = builder.getOrCreate()
    spark.sparkContext.addPyFile(_package_zip())
    checkpoints = os.environ.get(CHECKPOINT_DIR_VARIABLE)
    if checkpoints is None and is_local(master):
        checkpoints = _temporary_folder("sketchrec-spark-checkpoints-")
    if checkpoints:
        spark.sparkContext.setCheckpointDir(checkpoints)
    return spark


@contextlib.contextmanager
def _stderr_to(path):
    """Point file descriptor 2 at ``path`` while a child process (the JVM) is started."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "ab") as log:
        os.dup2(log.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _package_zip():
    """A zip of the ``training`` package in the temporary folder; returns its path."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    base = os.path.join(_temporary_folder("sketchrec-spark-"), "training")
    return shutil.make_archive(base, "zip", os.path.dirname(package), "training")


def _temporary_folder(prefix):
    """A new folder in the temporary folder, removed when the process exits."""
    folder = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder
