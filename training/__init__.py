"""Sketchrec training: likes loading, WRMF fitting, evaluation and model artifacts.

The command line (``python -m training``, or ``sketchrec-train``) is a thin
layer over these modules. It follows Ethan Rosenthal's "Intro to Implicit Matrix
Factorization: Classic ALS with Sketchfab Models"
(https://www.ethanrosenthal.com/2016/10/19/implicit-mf-part-1/), "the post" in
the modules' docstrings. ``core/`` holds what the web app shares (the
artifact, likes, parameters, RESULTS.json and the search's schedule,
similarity, top k, fold-in, the serving files, the events file; see
:mod:`training.core`); the rest is training only:

- ``confidence``: the paper's confidence c = 1 + alpha * d.
- ``wrmf``: fit WRMF by alternating least squares with ``implicit``.
- ``split``: hold out likes of some users for evaluation.
- ``metrics`` / ``evaluation``: p@k and MSE; scoring a checkpoint on a split.
- ``learning_curve`` / ``search``: warm-started curves, the grid search.
- ``fold_in_evaluation``: the held-out quality of fold-in.
- ``log_table``: the search's printed table.
- ``demo`` / ``fetch``: demo likes with planted taste groups; the real likes.
"""
