"""Helpers for the training tests: the command line in a subprocess, small likes files, a small search grid."""

import itertools
import os
import subprocess
import sys

from training.likes import write_likes
from training.search import Grid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMALL_GRID = Grid(factors=(20, 40), regularization=(0.1, 10.0), alpha=(10.0, 50.0))
SMALL_EPOCHS = range(2, 12, 2)


def run_training(*args):
    """``python -m training ARGS`` in a subprocess from the repository root."""
    return subprocess.run([sys.executable, "-m", "training", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def write_grid(path, users, models, extra=()):
    """A likes file where every one of ``users`` liked every one of ``models``, plus ``extra`` rows."""
    rows = [(f"name {m}", f"m{m}", f"u{u}") for u, m in itertools.product(range(users), range(models))]
    write_likes(path, rows + list(extra))

