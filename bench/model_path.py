"""Walk the model path: the project's functions from the web app's load to a similar list.

Usage: ``.venv/bin/python -m bench.model_path [--approximate] [--list]``

Profiles ``webapp.serving.model_store.init_app`` on a small artifact whose
serving folder is already built (what every worker but the first finds),
then one ``similar`` query of the loaded catalog. A stop is a function of
``webapp/`` or ``training/`` the walk enters, counted once however often it
is called (comprehensions and generators left out); a return is a stop in a
file the walk had already left. Prints stops, files and returns (``--list``:
the walk itself). Structure, not speed: the figures are counts.
"""

import argparse
import os
import sys
import tempfile

import numpy as np
from flask import Flask

import training
import webapp
from webapp.serving import model_store

try:  # the artifact module's home moved; the walk measures both layouts
    from training.core import artifact
    from training.core.params import Params
except ImportError:
    from training import artifact
    from training.params import Params

ROOTS = tuple(os.path.dirname(package.__file__) for package in (training, webapp))
MODELS, FACTORS, USERS = 3000, 16, 500


def write_model(path):
    """A random artifact of ``MODELS`` models, each liked by one or two of ``USERS`` users."""
    rng = np.random.default_rng(0)
    factors = rng.standard_normal((MODELS, FACTORS)).astype(np.float32)
    mids = np.array([f"m{i:05d}" for i in range(MODELS)])
    users = rng.integers(0, USERS, (MODELS, 2))
    likes = np.zeros((USERS, MODELS), dtype=np.float32)
    likes[users.T, np.arange(MODELS)] = 1.0
    dataset = {"path": "random", "sha256": "0" * 64, "users": USERS, "models": MODELS}
    meta = artifact.build_meta(Params(FACTORS), 1, {**dataset, "likes": int(likes.sum())})
    artifact.save_model(path, factors, mids, mids, likes, meta)


def walk(call):
    """``call()`` under a profiler: the project functions it enters, as (file, name)."""
    stops = []

    def profile(frame, event, arg):
        code = frame.f_code
        if event == "call" and code.co_filename.startswith(ROOTS) and code.co_name[0] != "<":
            if not code.co_flags & 0x20:  # a generator's resumptions are not new stops
                path = os.path.relpath(code.co_filename, os.path.dirname(ROOTS[0]))
                stops.append((path, code.co_qualname))

    sys.setprofile(profile)
    try:
        call()
    finally:
        sys.setprofile(None)
    return stops


def counts(stops):
    """``(stops, files, returns)`` of the distinct ``stops`` in the order first entered."""
    seen, returns = [], 0
    for (path, _), previous in zip(stops, [None, *stops], strict=False):
        if previous is not None and path != previous[0] and path in seen:
            returns += 1
        if path not in seen:
            seen.append(path)
    return len(stops), len(seen), returns


def distinct(stops):
    """``stops`` without repeats, in the order first entered."""
    return list(dict.fromkeys(stops))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--approximate", action="store_true", help="past the ANN threshold")
    parser.add_argument("--list", action="store_true", help="print every stop")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.npz")
        write_model(path)
        threshold = 100 if args.approximate else 10**9
        model_store.init_app(flask_app(path, threshold))  # the first worker builds the folder
        app = flask_app(path, threshold)
        stops = walk(lambda: model_store.init_app(app))
        catalog = app.extensions[model_store.EXTENSION].get()
        stops = distinct(stops + walk(lambda: catalog.similar(7, 10)))
    if args.list:
        for path, name in stops:
            print(f"{path}: {name}")
    found, files, returns = counts(stops)
    print(f"{found} stops in {files} files, {returns} returns to a file already left")


def flask_app(path, ann_threshold):
    """A bare Flask app with what the model store reads from the configuration."""
    app = Flask("walk")
    app.config.update(MODEL_PATH=path, ANN_THRESHOLD=ann_threshold)
    return app


if __name__ == "__main__":
    main()
