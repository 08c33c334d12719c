"""The training pipeline as functions: each step takes its typed parameters.

:func:`fit`, :func:`search`, :func:`index` and :func:`foldin_eval` take the
dataclasses of :mod:`training.core.steps`; :func:`prepare`, :func:`demo`,
:func:`fetch` and :func:`plot` the few values they need. They print what
the command line prints (``echo``) and raise :class:`BadInput` for bad
input, touching nothing that existed before. The command line calls them
after parsing its arguments; ``python -m training.pipeline RESULT.json``
runs one step read as JSON on standard input, in the child process of a
retrain job or of a large serving-files build, and records how it ended in
``RESULT.json`` (see :mod:`training.core.steps`).
"""

import os
import sys
import tempfile
import time

from tqdm import tqdm

from . import fold_in_evaluation, wrmf
from .core import artifact, event_likes, serving_files, steps, svg_plot
from .core.atomic import write_text
from .core.errors import BadInput
from .core.likes import file_sha256, read_likes
from .core.params import DEFAULT_ITERATIONS, Params
from .core.prepare import dataset_summary
from .core.prepare import prepare as prepare_likes
from .core.results import held_out, read_results
from .core.similarity import COSINE
from .core.steps import FitStep, FoldInEvalStep, IndexStep, SearchStep
from .demo import write_demo
from .fetch import fetch as download
from .search import run_search


def prepare(likes, echo=print):
    """Read and threshold the :class:`~training.core.steps.LikesSource` ``likes``; print
    the blog post's report. Returns :class:`training.core.prepare.Prepared`."""
    read = read_likes(likes.path, skip_bad_rows=likes.skip_bad_rows)
    if read.skipped_rows:
        echo(f"Skipped bad rows: {read.skipped_rows}")
    prepared = prepare_likes(read, likes.min_user_likes, likes.min_model_likes)
    for line in prepared.report():
        echo(line)
    return prepared


def demo(out, seed=0, users=3000, models=2000, echo=print):
    """Write deterministic Sketchfab-like demo likes to ``out``."""
    result = write_demo(out, seed, users, models)
    echo(f"Wrote {len(result.model)} likes of {users} users on {models} models to {out}")


def fetch(url, out, echo=print):
    """Download the real Sketchfab likes from ``url`` to ``out``."""
    size = download(url, out, progress=sys.stderr.isatty())
    echo(f"Wrote {size} bytes to {out}")


def export_events(events_path, out, echo=print):
    """Write visitors' hearts (net of unhearts) of the events file at ``events_path``
    as likes at ``out``."""
    likes = event_likes.write_heart_likes(events_path, out)
    visitors = len({uid for _, _, uid in likes})
    echo(f"Wrote {len(likes)} likes of {visitors} visitors to {out}")


def plot(results_path, out, echo=print):
    """The curves of the RESULTS.json at ``results_path`` as SVG at ``out``."""
    write_text(out, svg_plot.curves_svg(read_results(results_path)) + "\n")
    echo(f"Wrote {out}")


def fit_settings(choice):
    """``(Params, iterations, extra meta)`` of a :class:`~training.core.steps.FitChoice`.

    Unset parameters take :mod:`training.core.params`' defaults; the similarity
    exponent the pick's, else cosine. The extra meta holds
    ``similarity_exponent`` and, from a search, ``search``: its path, the
    objective, the pick as ``best`` (with its test p@k and simk) and the
    baselines.
    """
    base, iterations, exponent, extra = Params(), DEFAULT_ITERATIONS, COSINE, {}
    if choice.from_search:
        best, baseline = _pick_of_search(choice.from_search, choice.objective)
        base = Params(**best["params"])
        iterations = best["iterations"]
        exponent = best.get("similarity_exponent", COSINE)
        extra["search"] = {
            "path": os.path.abspath(choice.from_search),
            "objective": choice.objective,
            "best": best,
            "baseline": baseline,
        }
    params = Params(
        factors=choice.factors or base.factors,
        regularization=_given(choice.regularization, base.regularization),
        alpha=_given(choice.alpha, base.alpha),
    )
    if choice.similarity_exponent is not None:
        exponent = choice.similarity_exponent
    return params, choice.iterations or iterations, {"similarity_exponent": exponent, **extra}


def _given(value, default):
    return default if value is None else value


def _pick_of_search(path, objective):
    """``(pick, baseline)`` of a RESULTS.json written by ``search``, by ``objective``."""
    results = read_results(path)
    if results["best"] is None:
        raise BadInput(
            f"{path}: no configuration of this search gave a finite {held_out(results)} p@k"
        )
    if objective == "patk":
        return results["best"], results["baseline"]
    if results.get("best_simk") is None:
        raise BadInput(
            f"{path}: no similar-list recall (simk) in this search; "
            "run search again or fit with --objective patk"
        )
    return results["best_simk"], results["baseline"]


def fit(step, echo=print):
    """Fit WRMF as the :class:`~training.core.steps.FitStep` says and write its artifact."""
    params, iterations, extra = fit_settings(step.choice)
    engine = _fit_spark if step.engine == "spark" else _fit_implicit
    seconds = engine(step, params, iterations, extra, echo)
    echo(
        f"Fitted {params.factors} factors, regularization {params.regularization:g}, "
        f"alpha {params.alpha:g}, {iterations} iterations in {seconds:.1f} s; "
        f"neighbours by similarity exponent {extra['similarity_exponent']:g}"
    )
    echo(f"Wrote {step.out}")


def _fit_implicit(step, params, iterations, extra, echo):
    prepared = prepare(step.likes, echo)
    started = time.perf_counter()
    if sys.stderr.isatty():
        with tqdm(total=iterations, desc="ALS", unit="it") as bar:
            model = wrmf.fit(prepared.likes, params, iterations, step.seed, lambda _: bar.update())
    else:
        model = wrmf.fit(prepared.likes, params, iterations, step.seed)
    seconds = time.perf_counter() - started
    dataset = dataset_summary(step.likes.path, prepared)
    meta = artifact.build_meta(params, iterations, dataset, fit_seconds=round(seconds, 3), **extra)
    artifact.save_model(
        step.out, model.item_factors, prepared.mids, prepared.names, prepared.likes, meta
    )
    return seconds


def _fit_spark(step, params, iterations, extra, echo):
    try:
        from .spark import engine, session
    except ImportError as e:
        raise BadInput(f"--engine spark needs pyspark ({e}): pip install -e '.[spark]'") from None
    spark = session.get_session(step.spark_master)
    likes = step.likes
    prepared = engine.prepare(
        spark, likes.path, likes.min_user_likes, likes.min_model_likes, likes.skip_bad_rows
    )
    if prepared.skipped_rows:
        echo(f"Skipped bad rows: {prepared.skipped_rows}")
    for line in prepared.report():
        echo(line)
    started = time.perf_counter()
    factors = engine.fit_als(
        prepared.ratings, prepared.users, len(prepared.mids), params, iterations, step.seed
    )
    seconds = time.perf_counter() - started
    meta = artifact.build_meta(
        params,
        iterations,
        engine.dataset(likes.path, prepared),
        fit_seconds=round(seconds, 3),
        **engine.meta_extras(spark),
        **extra,
    )
    # The likes pattern is staged on the output's disk, which has room for the artifact.
    out_folder = os.path.dirname(os.path.abspath(step.out))
    os.makedirs(out_folder, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".likes-", dir=out_folder) as folder:
        indptr, indices = engine.likes_by_model(prepared, folder)
        artifact.write_model(
            step.out, factors.item_factors, prepared.mids, prepared.names, indptr, indices, meta
        )
        del indices  # unmapped before its folder goes
    return seconds


def search(step, echo=print):
    """Run the search of the :class:`~training.core.steps.SearchStep`; write its
    RESULTS.json at ``out``."""
    prepared = prepare(step.likes, echo)
    run_search(
        prepared,
        dataset_summary(step.likes.path, prepared),
        step.out,
        grid=step.grid,
        epochs=step.epochs,
        settings=step.split,
        strategy=step.strategy,
        resume=step.resume,
        progress=sys.stderr.isatty(),
    )
    echo(f"Wrote {step.out}")


def index(step):
    """Build the serving files of the :class:`~training.core.steps.IndexStep`'s model;
    return their folder."""
    try:
        sha256 = file_sha256(step.model)
    except OSError as e:
        raise BadInput(f"{step.model}: {e.strerror}") from None
    return serving_files.build(step.model, sha256, step.ann_threshold)


def foldin_eval(step, echo=print):
    """Print the test p@k of users folded in, as the :class:`~training.core.steps.FoldInEvalStep`
    says, against trained users and popularity."""
    params, iterations, _ = fit_settings(step.choice)
    prepared = prepare(step.likes, echo)
    echo(
        f"{params.factors} factors, regularization {params.regularization:g}, "
        f"alpha {params.alpha:g}, {iterations} iterations"
    )
    report = fold_in_evaluation.evaluate_fold_in(
        prepared.likes, params, iterations, step.split, step.few
    )
    for line in report.lines():
        echo(line)


RUNNERS = {FitStep: fit, SearchStep: search, IndexStep: index, FoldInEvalStep: foldin_eval}


def run_child(result_path, spec_text):
    """Run the step of the JSON ``spec_text``; record how it ended at ``result_path``.

    Returns the exit status: 0, or 2 for bad input (also printed as one
    ``error:`` line on stderr, as the command line does). An unexpected
    exception is recorded, then raised (its traceback goes to stderr).
    """
    try:
        step = steps.read_spec(spec_text)
        RUNNERS[type(step)](step)
    except BadInput as e:
        print(f"error: {e}", file=sys.stderr)
        steps.write_result(result_path, str(e), "bad_input")
        return 2
    except Exception as e:
        line = (str(e).splitlines() or [""])[0]
        steps.write_result(result_path, f"{type(e).__name__}: {line}".removesuffix(": "), "crash")
        raise
    steps.write_result(result_path)
    return 0


if __name__ == "__main__":
    sys.exit(run_child(sys.argv[1], sys.stdin.read()))
