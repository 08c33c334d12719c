"""Sketchrec training: likes loading, WRMF fitting, evaluation and model artifacts.

The command line (``python -m training``, or ``sketchrec-train``) is a thin
layer over these modules. It follows Ethan Rosenthal's "Intro to Implicit Matrix
Factorization: Classic ALS with Sketchfab Models"
(https://www.ethanrosenthal.com/2016/10/19/implicit-mf-part-1/), "the post" in
the modules' docstrings.

- ``likes``: read and write the post's pipe-separated likes file.
- ``prepare``: drop duplicate likes, iterative thresholding.
- ``confidence``: the paper's confidence c = 1 + alpha * d.
- ``params``: WRMF hyper-parameters and their defaults (no ``implicit`` import).
- ``wrmf``: fit WRMF by alternating least squares with ``implicit``.
- ``split``: hold out likes of some users for evaluation.
- ``top_k``: the k largest scores of each row, shared with the web app's neighbours.
- ``metrics`` / ``evaluation``: p@k and MSE; scoring a checkpoint on a split.
- ``learning_curve`` / ``search``: warm-started curves, the grid search.
- ``results``: RESULTS.json, the search's record (read by ``fit`` and the admin pages).
- ``artifact``: the model ``.npz`` file the web app serves.
- ``svg_plot`` / ``log_table``: the search's figures and printed table.
- ``demo`` / ``fetch``: demo likes with planted taste groups; the real likes.
"""
