"""The test suite: run with ``pytest`` from the repository root (``make test``).

"The post" is Ethan Rosenthal's "Intro to Implicit Matrix Factorization: Classic ALS
with Sketchfab Models" (https://www.ethanrosenthal.com/2016/10/19/implicit-mf-part-1/).
"""
