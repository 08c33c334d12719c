"""Sketchrec training: likes loading, WRMF fitting, evaluation and model artifacts.

The command line (``python -m training``) is a thin layer over these modules:

- ``likes``: read and write the seed's pipe-separated likes file.
- ``prepare``: drop duplicate likes, iterative thresholding.
- ``matrix``: the users x models likes matrix and the paper's confidence.
- ``wrmf``: fit WRMF by alternating least squares with ``implicit``.
- ``artifact``: the model ``.npz`` file the web app serves.
- ``demo`` / ``fetch``: demo likes with planted taste groups; the real likes.
"""
