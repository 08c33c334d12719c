"""Training on Spark: the same likes, report and model artifact as the default engine.

- ``session``: a quiet SparkSession for a master URL (local[*], spark://host:7077, yarn).
- ``read``: the likes file (or a directory of part files, or Parquet) as a Spark DataFrame,
  with the default engine's one-line errors for bad input.
- ``engine``: deduplication and iterative thresholding in Spark, ALS with implicit
  preferences (``pyspark.ml``), and everything :func:`training.core.artifact.write_model` needs.

``pyspark`` is an optional dependency (the ``spark`` extra); it needs Java 17.
"""
