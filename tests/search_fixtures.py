"""Fixtures for the evaluation and grid-search tests: demo likes and one small real search.

Import the fixtures a test module uses (``from search_fixtures import ...``).
"""

import os
import subprocess
import sys

import pytest

from training import demo
from training.likes import read_likes
from training.prepare import prepare
from training.search import Grid, SplitSettings, dataset_summary, grid_search

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMALL_GRID = Grid(factors=(20, 40), regularization=(0.1, 10.0), alpha=(10.0, 50.0))
SMALL_EPOCHS = range(2, 12, 2)


def run_training(*args):
    """``python -m training ARGS`` in a subprocess from the repository root."""
    return subprocess.run([sys.executable, "-m", "training", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="session")
def demo_likes(tmp_path_factory):
    """The default demo likes file (3000 users x 2000 models), as ``make run`` builds it."""
    path = tmp_path_factory.mktemp("demo") / "demo.psv"
    demo.write_demo(str(path))
    return path


@pytest.fixture(scope="session")
def small_likes(tmp_path_factory):
    """A smaller demo likes file (800 users x 500 models) for command-line runs."""
    path = tmp_path_factory.mktemp("small") / "small.psv"
    demo.write_demo(str(path), seed=3, users=800, models=500)
    return path


@pytest.fixture(scope="session")
def demo_search(demo_likes, tmp_path_factory):
    """``(path, results)`` of an 8-configuration search on the demo likes."""
    path = tmp_path_factory.mktemp("search") / "grid.json"
    prepared = prepare(read_likes(str(demo_likes)))
    results = grid_search(prepared, dataset_summary(str(demo_likes), prepared), str(path),
                          grid=SMALL_GRID, epochs=SMALL_EPOCHS, settings=SplitSettings(),
                          echo=lambda line: None)
    return path, results
