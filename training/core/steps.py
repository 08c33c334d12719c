"""The pipeline's steps as typed parameters, and the child process that runs one.

``fit``, ``search``, ``index`` and ``foldin-eval`` are functions of
:mod:`training.pipeline`, each taking one of the step dataclasses below. The
command line builds them from its arguments. The admin's retrain jobs and the
serving files' build run a step in a child process instead (its memory is
returned to the system when it ends, and killing it cancels the step): the
step goes to ``python -m training.pipeline RESULT.json`` as JSON
(:func:`to_spec`) on its standard input, and the child writes how it ended
to ``RESULT.json``: ``{"ok": true}``, or ``{"ok": false, "error": "<one
line>", "kind": "bad_input" | "crash"}``. :func:`step_failure` reads it.

This module imports no ``implicit``: the web workers build steps too.
"""

import dataclasses
import itertools
import json
import os
import subprocess
import sys
import typing
from dataclasses import asdict, dataclass

from .atomic import write_text
from .errors import BadInput
from .halving import Strategy
from .params import Params

SIM_K = 10  # the similar list's length on a model page
EXPONENTS = (1.0, 0.5, 0.0)  # similarity exponents tried: cosine, half the length, dot product
REFERENCE_EPOCHS = range(2, 40, 2)
ENGINES = ("implicit", "spark")
PICK_ON = ("validation", "test")  # SplitSettings.pick_on: where the search picks
CHILD = (sys.executable, "-m", "training.pipeline")


@dataclass(frozen=True)
class LikesSource:
    """A likes file (``modelname|mid|uid[|count]``) and how it is prepared: the
    thresholds of iterative thresholding, and whether bad rows are skipped and counted."""

    path: str
    min_user_likes: int = 5
    min_model_likes: int = 5
    skip_bad_rows: bool = False


@dataclass(frozen=True)
class Grid:
    """Values tried for each parameter; every combination is one configuration."""

    factors: tuple = (10, 20, 40, 80, 120)
    regularization: tuple = (0.0, 1e-5, 1e-3, 1e-1, 1e1, 1e2)
    alpha: tuple = (1.0, 10.0, 50.0, 100.0, 500.0, 1000.0)

    def configurations(self):
        """:class:`Params` of every combination, in the blog post's order (alpha fastest)."""
        return [
            Params(f, r, a)
            for f, r, a in itertools.product(self.factors, self.regularization, self.alpha)
        ]


@dataclass(frozen=True)
class SplitSettings:
    """How the likes are split and scored: p@k's k, the blog post's split arguments,
    the similar list's length and the similarity exponents it is scored with, and where
    the pick is made (``pick_on``: a validation split drawn from the training likes with
    ``validation_seed``, ``seed + 1`` unless given, or the test split itself)."""

    k: int = 5
    split_count: int = 5
    fraction: float = 0.2
    seed: int = 0
    sim_k: int = SIM_K
    similarity_exponents: tuple = EXPONENTS
    pick_on: str = "validation"
    validation_seed: int = None

    def __post_init__(self):
        if self.validation_seed is None:
            object.__setattr__(self, "validation_seed", self.seed + 1)

    def as_dict(self):
        """RESULTS.json's ``split`` without the user counts (the exponents a list of floats)."""
        return {
            **asdict(self),
            "similarity_exponents": [float(e) for e in self.similarity_exponents],
        }


@dataclass(frozen=True)
class FitChoice:
    """The parameters of a fit: the pick of the search at ``from_search`` (by
    ``objective``, one of :data:`~training.core.halving.OBJECTIVES`), else the defaults; each
    parameter given here overrides them. ``similarity_exponent`` defaults to
    the pick's, else 1 (cosine)."""

    from_search: str | None = None
    objective: str = "similar"
    factors: int | None = None
    regularization: float | None = None
    alpha: float | None = None
    iterations: int | None = None
    similarity_exponent: float | None = None


@dataclass(frozen=True)
class FitStep:
    """Fit WRMF on all of ``likes`` and write the artifact ``out``, with ``engine``
    (one of :data:`ENGINES`; ``spark_master`` for Spark) and random ``seed``."""

    likes: LikesSource
    out: str
    choice: FitChoice = FitChoice()
    engine: str = "implicit"
    spark_master: str = "local[*]"
    seed: int = 0


@dataclass(frozen=True)
class SearchStep:
    """Search with learning curves over ``epochs`` by ``strategy`` (a
    :class:`~training.core.halving.Strategy`: successive halving or the full grid);
    RESULTS.json at ``out`` (``resume``: keep the configurations it already holds)."""

    likes: LikesSource
    out: str
    grid: Grid = Grid()
    epochs: range = REFERENCE_EPOCHS
    split: SplitSettings = SplitSettings()
    strategy: Strategy = Strategy()
    resume: bool = False


@dataclass(frozen=True)
class IndexStep:
    """Build the serving files beside the artifact ``model``; approximate neighbours
    from ``ann_threshold`` models."""

    model: str
    ann_threshold: int


@dataclass(frozen=True)
class FoldInEvalStep:
    """Test p@k of users folded in (also from only ``few`` likes) against trained users."""

    likes: LikesSource
    choice: FitChoice = FitChoice()
    split: SplitSettings = SplitSettings()
    few: int = 3


STEPS = {"fit": FitStep, "search": SearchStep, "index": IndexStep, "foldin-eval": FoldInEvalStep}


def to_spec(step):
    """The step as a JSON-ready dict: ``{"step": name, field: value, ...}`` (ranges as
    ``[start, stop, step]``, tuples as lists)."""
    name = next(name for name, kind in STEPS.items() if isinstance(step, kind))
    return {"step": name, **_plain(step)}


def _plain(value):
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, range):
        return [value.start, value.stop, value.step]
    if isinstance(value, tuple):
        return list(value)
    return value


def from_spec(spec):
    """The step of a :func:`to_spec` dict; :class:`BadInput` says what does not fit."""
    try:
        kind = STEPS[spec["step"]]
        return _typed(kind, {k: v for k, v in spec.items() if k != "step"})
    except (AttributeError, KeyError, TypeError, ValueError) as e:
        raise BadInput(f"not a pipeline step ({type(e).__name__}: {e})") from None


def read_spec(text):
    """The step of a :func:`to_spec` dict written as JSON ``text``."""
    try:
        spec = json.loads(text)
    except ValueError as e:
        raise BadInput(f"a pipeline step is JSON ({e})") from None
    return from_spec(spec)


def _typed(kind, data):
    hints = typing.get_type_hints(kind)
    values = {}
    for name, value in data.items():
        hint = hints[name]
        if dataclasses.is_dataclass(hint):
            value = _typed(hint, value)
        elif hint is range:
            value = range(*value)
        elif hint is tuple:
            value = tuple(value)
        values[name] = value
    return kind(**values)


def start_step(spec, result_path, **popen):
    """Start the child that runs ``spec`` (a :func:`to_spec` dict); return its ``Popen``.

    The child writes how it ended to ``result_path`` (removed first, so an old
    result is never read as this one's); ``popen`` goes to ``subprocess.Popen``
    (output, environment, ``preexec_fn``). Read the end with :func:`step_failure`.
    """
    if os.path.exists(result_path):
        os.remove(result_path)
    child = subprocess.Popen([*CHILD, result_path], stdin=subprocess.PIPE, text=True, **popen)
    try:
        child.stdin.write(json.dumps(spec))
        child.stdin.close()
    except BrokenPipeError:
        pass  # the child died before reading: its exit status says how
    return child


def write_result(result_path, error=None, kind=None):
    """The child's side: record success, or ``error`` (one line) of ``kind``."""
    result = {"ok": True} if error is None else {"ok": False, "error": error, "kind": kind}
    write_text(result_path, json.dumps(result) + "\n")


def step_failure(returncode, result_path):
    """How a child of :func:`start_step` that exited with ``returncode`` failed:
    ``{"error": one line, "kind"}``, or None when it succeeded.

    ``kind`` is ``bad_input`` (the step's input was refused; ``error`` says
    what and where), ``crash`` (an unexpected exception), ``killed`` (a
    signal) or ``exit`` (ended without a result, e.g. failed to start).
    """
    if returncode < 0:
        return {"error": f"killed by signal {-returncode}", "kind": "killed"}
    try:
        with open(result_path, encoding="utf-8") as f:
            result = json.load(f)
    except (OSError, ValueError):
        result = None
    if result is None:
        return {"error": f"exit status {returncode}, no result", "kind": "exit"}
    if not result["ok"]:
        return {"error": result["error"], "kind": result["kind"]}
    if returncode != 0:
        return {"error": f"exit status {returncode}", "kind": "exit"}
    return None
