"""Benchmarks: run each from the repository root as ``python -m bench.NAME`` (BENCHMARKS.md).

"The post" is Ethan Rosenthal's "Intro to Implicit Matrix Factorization: Classic ALS
with Sketchfab Models" (https://www.ethanrosenthal.com/2016/10/19/implicit-mf-part-1/).
"""
