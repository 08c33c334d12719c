"""``python -m training``: a thin command line over the training library.

Every subcommand reports bad input as one line on stderr and exits with
status 2; nothing that existed before (a model, a download) is touched then.
"""

import argparse
import dataclasses
import os
import sys
import tempfile
import time

from tqdm import tqdm

from . import demo, fetch, fold_in_evaluation, search, wrmf
from .core import artifact, event_likes, halving, serving_files, svg_plot
from .core.arg_types import (
    at_least,
    comma_list,
    epoch_range,
    factor_count,
    fraction,
    halving_rate,
    iteration_count,
    non_negative_float,
    positive_int,
    weight,
)
from .core.atomic import write_text
from .core.errors import BadInput
from .core.likes import file_sha256, read_likes
from .core.params import DEFAULT_ITERATIONS, Params
from .core.prepare import dataset_summary, prepare
from .core.results import held_out, read_results
from .core.similarity import COSINE

DESCRIPTION = "Sketchrec's training command line: likes files in, model artifacts out."
EPILOG = (
    "Bad input is one line on stderr and exit status 2; nothing that existed before "
    "is touched. The method follows Ethan Rosenthal's blog post 'Intro to Implicit "
    "Matrix Factorization: Classic ALS with Sketchfab Models' "
    "(https://www.ethanrosenthal.com/2016/10/19/implicit-mf-part-1/). "
    "'python -m training SUBCOMMAND --help' describes each subcommand."
)


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors and status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def main(argv=None):
    """Run one subcommand; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.run(args)
    except BadInput as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


def build_parser():
    """The parser with all subcommands; each sets ``run`` to its function."""
    parser = Parser(prog="python -m training", description=DESCRIPTION, epilog=EPILOG)
    sub = parser.add_subparsers(required=True, metavar="SUBCOMMAND", parser_class=Parser)
    for register in (
        _demo_parser,
        _fetch_parser,
        _prepare_parser,
        _fit_parser,
        _index_parser,
        _search_parser,
        _plot_parser,
        _foldin_eval_parser,
        _export_events_parser,
    ):
        register(sub)
    return parser


def likes_arguments(p):
    """Arguments common to the subcommands that read a likes file."""
    p.add_argument("likes", metavar="LIKES", help="likes file (modelname|mid|uid[|count])")
    p.add_argument("--min-user-likes", type=positive_int, default=5)
    p.add_argument("--min-model-likes", type=positive_int, default=5)
    p.add_argument(
        "--skip-bad-rows",
        action="store_true",
        help="skip and count bad rows instead of stopping at the first",
    )


def load_prepared(args, echo=print):
    """Read and threshold ``args.likes``; print the post's report.

    Returns :class:`Prepared`.
    """
    likes = read_likes(args.likes, skip_bad_rows=args.skip_bad_rows)
    if likes.skipped_rows:
        echo(f"Skipped bad rows: {likes.skipped_rows}")
    prepared = prepare(likes, args.min_user_likes, args.min_model_likes)
    for line in prepared.report():
        echo(line)
    return prepared


def _demo_parser(sub):
    p = sub.add_parser("demo", help="write deterministic Sketchfab-like demo likes")
    p.add_argument("--out", required=True, metavar="PATH")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--users", type=positive_int, default=3000)
    p.add_argument("--models", type=at_least(demo.MIN_MODELS), default=2000)
    p.set_defaults(run=_run_demo)


def _run_demo(args):
    result = demo.write_demo(args.out, args.seed, args.users, args.models)
    print(
        f"Wrote {len(result.model)} likes of {args.users} users on {args.models} models "
        f"to {args.out}"
    )


def _fetch_parser(sub):
    p = sub.add_parser("fetch", help="download the real Sketchfab likes")
    p.add_argument("--out", required=True, metavar="PATH")
    p.add_argument("--url", default=fetch.DEFAULT_URL)
    p.set_defaults(run=_run_fetch)


def _run_fetch(args):
    size = fetch.fetch(args.url, args.out, progress=sys.stderr.isatty())
    print(f"Wrote {size} bytes to {args.out}")


def _prepare_parser(sub):
    p = sub.add_parser("prepare", help="print duplicates and thresholding statistics")
    likes_arguments(p)
    p.set_defaults(run=load_prepared)


def _fit_parser(sub):
    p = sub.add_parser("fit", help="fit WRMF on all likes and write the model artifact")
    likes_arguments(p)
    p.add_argument("--out", required=True, metavar="MODEL.npz")
    fit_arguments(p)
    p.add_argument(
        "--engine",
        choices=["implicit", "spark"],
        default="implicit",
        help="ALS implementation: implicit (one machine) or Spark MLlib",
    )
    p.add_argument(
        "--spark-master",
        default="local[*]",
        metavar="URL",
        help="with --engine spark: local[*], spark://host:7077, yarn, ...",
    )
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=_run_fit)


def fit_arguments(p):
    """``--from-search`` or the WRMF parameters one by one (read by :func:`fit_settings`)."""
    p.add_argument(
        "--from-search",
        metavar="RESULTS.json",
        help="use the best parameters and iterations of a grid search",
    )
    defaults = Params()
    p.add_argument("--factors", type=factor_count, default=None, help=f"default {defaults.factors}")
    p.add_argument(
        "--regularization", type=weight, default=None, help=f"default {defaults.regularization}"
    )
    p.add_argument("--alpha", type=weight, default=None, help=f"default {defaults.alpha:g}")
    p.add_argument(
        "--iterations", type=iteration_count, default=None, help=f"default {DEFAULT_ITERATIONS}"
    )
    p.add_argument(
        "--objective",
        choices=halving.OBJECTIVES,
        default="similar",
        help="with --from-search: the pick by simk of the similar lists (default; what users "
        "see) or by the user p@k of the blog post",
    )
    p.add_argument(
        "--similarity-exponent",
        type=non_negative_float,
        default=None,
        help="the neighbour score's exponent (default: the pick's, else 1 = cosine)",
    )


def fit_settings(args):
    """``(Params, iterations, extra meta)`` from ``--from-search`` or the flags.

    Unset parameters take :mod:`training.wrmf`'s defaults; the similarity
    exponent the pick's, else cosine. The extra meta holds
    ``similarity_exponent`` and, from a search, ``search``: its path, the
    objective, the pick as ``best`` (with its test p@k and simk) and the
    baselines.
    """
    base, iterations, exponent, extra = Params(), DEFAULT_ITERATIONS, COSINE, {}
    if args.from_search:
        best, baseline = _pick_of_search(args.from_search, args.objective)
        base = Params(**best["params"])
        iterations = best["iterations"]
        exponent = best.get("similarity_exponent", COSINE)
        extra["search"] = {
            "path": os.path.abspath(args.from_search),
            "objective": args.objective,
            "best": best,
            "baseline": baseline,
        }
    params = Params(
        factors=args.factors or base.factors,
        regularization=base.regularization if args.regularization is None else args.regularization,
        alpha=base.alpha if args.alpha is None else args.alpha,
    )
    if args.similarity_exponent is not None:
        exponent = args.similarity_exponent
    return params, args.iterations or iterations, {"similarity_exponent": exponent, **extra}


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


def _run_fit(args):
    params, iterations, extra = fit_settings(args)
    fit = _fit_spark if args.engine == "spark" else _fit_implicit
    seconds = fit(args, params, iterations, extra)
    print(
        f"Fitted {params.factors} factors, regularization {params.regularization:g}, "
        f"alpha {params.alpha:g}, {iterations} iterations in {seconds:.1f} s; "
        f"neighbours by similarity exponent {extra['similarity_exponent']:g}"
    )
    print(f"Wrote {args.out}")


def _fit_implicit(args, params, iterations, extra):
    prepared = load_prepared(args)
    started = time.perf_counter()
    if sys.stderr.isatty():
        with tqdm(total=iterations, desc="ALS", unit="it") as bar:
            model = wrmf.fit(prepared.likes, params, iterations, args.seed, lambda _: bar.update())
    else:
        model = wrmf.fit(prepared.likes, params, iterations, args.seed)
    seconds = time.perf_counter() - started
    dataset = dataset_summary(args.likes, prepared)
    meta = artifact.build_meta(params, iterations, dataset, fit_seconds=round(seconds, 3), **extra)
    artifact.save_model(
        args.out, model.item_factors, prepared.mids, prepared.names, prepared.likes, meta
    )
    return seconds


def _fit_spark(args, params, iterations, extra):
    try:
        from .spark import engine, session
    except ImportError as e:
        raise BadInput(f"--engine spark needs pyspark ({e}): pip install -e '.[spark]'") from None
    spark = session.get_session(args.spark_master)
    prepared = engine.prepare(
        spark, args.likes, args.min_user_likes, args.min_model_likes, args.skip_bad_rows
    )
    if prepared.skipped_rows:
        print(f"Skipped bad rows: {prepared.skipped_rows}")
    for line in prepared.report():
        print(line)
    started = time.perf_counter()
    factors = engine.fit_als(
        prepared.ratings, prepared.users, len(prepared.mids), params, iterations, args.seed
    )
    seconds = time.perf_counter() - started
    meta = artifact.build_meta(
        params,
        iterations,
        engine.dataset(args.likes, prepared),
        fit_seconds=round(seconds, 3),
        **engine.meta_extras(spark),
        **extra,
    )
    # The likes pattern is staged on the output's disk, which has room for the artifact.
    out_folder = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(out_folder, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".likes-", dir=out_folder) as folder:
        indptr, indices = engine.likes_by_model(prepared, folder)
        artifact.write_model(
            args.out, factors.item_factors, prepared.mids, prepared.names, indptr, indices, meta
        )
        del indices  # unmapped before its folder goes
    return seconds


def _search_parser(sub):
    p = sub.add_parser(
        "search",
        help="successive halving or the full grid over learning curves; writes RESULTS.json",
    )
    likes_arguments(p)
    grid = search.Grid()
    p.add_argument("--out", required=True, metavar="RESULTS.json")
    p.add_argument("--factors", type=comma_list(factor_count), default=grid.factors)
    p.add_argument("--regularization", type=comma_list(weight), default=grid.regularization)
    p.add_argument("--alpha", type=comma_list(weight), default=grid.alpha)
    p.add_argument(
        "--epochs",
        type=epoch_range,
        default=search.REFERENCE_EPOCHS,
        help="start:stop:step as Python's range (default 2:40:2)",
    )
    split_arguments(p)
    settings = search.SplitSettings()
    p.add_argument(
        "--sim-k", type=positive_int, default=settings.sim_k, help="similar list's length for simk"
    )
    p.add_argument(
        "--similarity-exponent",
        type=comma_list(non_negative_float),
        default=settings.similarity_exponents,
        help="exponents E of the neighbour score y_i.y_j / |y_j|^E to measure simk with "
        "(default 1,0.5,0; 1 is cosine)",
    )
    p.add_argument("--resume", action="store_true", help="continue the search already in --out")
    strategy_arguments(p)
    p.set_defaults(run=_run_search)


def strategy_arguments(p):
    """How the search spends its epochs and where it picks (read by :func:`_run_search`)."""
    strategy = halving.Strategy()
    p.add_argument(
        "--strategy",
        choices=halving.STRATEGIES,
        default=strategy.name,
        help="successive halving (default: most configurations stop at early rungs) or the "
        "full grid (every configuration to the last epoch)",
    )
    p.add_argument(
        "--objective",
        choices=halving.OBJECTIVES,
        default=strategy.objective,
        help="what halving ranks configurations by: simk at its best exponent (default) or p@k",
    )
    p.add_argument(
        "--eta",
        type=halving_rate,
        default=strategy.eta,
        help=f"halving keeps 1/eta of the configurations at each rung (default {strategy.eta})",
    )
    p.add_argument(
        "--first-rung",
        type=positive_int,
        default=None,
        metavar="EPOCHS",
        help="epochs of halving's first rung (default: the first of --epochs)",
    )
    p.add_argument(
        "--pick-on",
        choices=search.PICK_ON,
        default="validation",
        help="score curves and pick on a validation split drawn from the training likes "
        "(default; the pick alone is scored on test), or on the test split as earlier runs did",
    )
    p.add_argument(
        "--validation-seed",
        type=int,
        default=None,
        help="seed of the validation split (default: --seed + 1)",
    )


def split_arguments(p):
    """The post's split and p@k's k (read by :func:`split_settings`)."""
    split = search.SplitSettings()
    p.add_argument("--k", type=positive_int, default=split.k, help="p@k's k")
    p.add_argument(
        "--split-count",
        type=positive_int,
        default=split.split_count,
        help="likes moved to test per test user",
    )
    p.add_argument(
        "--fraction", type=fraction, default=split.fraction, help="share of all users tested"
    )
    p.add_argument("--seed", type=int, default=split.seed)


def split_settings(args):
    """:class:`training.search.SplitSettings` of :func:`split_arguments`."""
    return search.SplitSettings(args.k, args.split_count, args.fraction, args.seed)


def _run_search(args):
    prepared = load_prepared(args)
    search.run_search(
        prepared,
        dataset_summary(args.likes, prepared),
        args.out,
        grid=search.Grid(args.factors, args.regularization, args.alpha),
        epochs=args.epochs,
        settings=dataclasses.replace(
            split_settings(args),
            sim_k=args.sim_k,
            similarity_exponents=tuple(dict.fromkeys(args.similarity_exponent)),  # each once
            pick_on=args.pick_on,
            validation_seed=args.validation_seed,
        ),
        strategy=halving.Strategy(args.strategy, args.objective, args.eta, args.first_rung),
        resume=args.resume,
        progress=sys.stderr.isatty(),
    )
    print(f"Wrote {args.out}")


def _index_parser(sub):
    p = sub.add_parser(
        "index",
        help="build the files the web app serves a model with (beside it): mapped arrays, "
        "name index, approximate neighbours from --ann-threshold models",
    )
    p.add_argument("model", metavar="MODEL.npz")
    threshold = serving_files.ANN_THRESHOLD
    p.add_argument(
        "--ann-threshold", type=positive_int, default=threshold, help=f"default {threshold}"
    )
    p.set_defaults(run=_run_index)


def _run_index(args):
    try:
        sha256 = file_sha256(args.model)
    except OSError as e:
        raise BadInput(f"{args.model}: {e.strerror}") from None
    folder = serving_files.build(args.model, sha256, args.ann_threshold)
    print(folder)
    calibration = serving_files.load_calibration(folder)
    print(calibration.summary() if calibration else "exact neighbours: below the threshold")


def _plot_parser(sub):
    p = sub.add_parser(
        "plot",
        help="the best learning curve and all test p@k traces as SVG, with the simk curves "
        "of the best configuration by simk and the exponent's effect when measured",
    )
    p.add_argument("results", metavar="RESULTS.json")
    p.add_argument("--out", required=True, metavar="CURVES.svg")
    p.set_defaults(run=_run_plot)


def _run_plot(args):
    results = read_results(args.results)
    write_text(args.out, svg_plot.curves_svg(results) + "\n")
    print(f"Wrote {args.out}")


def _foldin_eval_parser(sub):
    p = sub.add_parser(
        "foldin-eval",
        help="test p@k of users folded in without retraining, against trained users and popularity",
    )
    likes_arguments(p)
    fit_arguments(p)
    split_arguments(p)
    p.add_argument(
        "--few", type=positive_int, default=3, help="also fold in from only this many likes"
    )
    p.set_defaults(run=_run_foldin_eval)


def _run_foldin_eval(args):
    params, iterations, _ = fit_settings(args)
    prepared = load_prepared(args)
    print(
        f"{params.factors} factors, regularization {params.regularization:g}, "
        f"alpha {params.alpha:g}, {iterations} iterations"
    )
    report = fold_in_evaluation.evaluate_fold_in(
        prepared.likes, params, iterations, split_settings(args), args.few
    )
    for line in report.lines():
        print(line)


def _export_events_parser(sub):
    p = sub.add_parser(
        "export-events",
        help="write visitors' hearts (net of unhearts) from the web app's events file as likes",
    )
    p.add_argument("events", metavar="EVENTS.sqlite")
    p.add_argument("--out", required=True, metavar="LIKES.psv")
    p.set_defaults(run=_run_export_events)


def _run_export_events(args):
    likes = event_likes.write_heart_likes(args.events, args.out)
    visitors = len({uid for _, _, uid in likes})
    print(f"Wrote {len(likes)} likes of {visitors} visitors to {args.out}")
