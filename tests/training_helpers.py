"""Helpers for the training tests: the command line in a subprocess, a small search grid."""

import os
import subprocess
import sys

from training.search import Grid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMALL_GRID = Grid(factors=(20, 40), regularization=(0.1, 10.0), alpha=(10.0, 50.0))
SMALL_EPOCHS = range(2, 12, 2)


def run_training(*args):
    """``python -m training ARGS`` in a subprocess from the repository root."""
    return subprocess.run([sys.executable, "-m", "training", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
