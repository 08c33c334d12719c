"""``python -m training``: a thin command line over the training library.

Each subcommand parses its arguments into the typed parameters of
:mod:`training.core.steps` and calls its function of :mod:`training.pipeline`.
Every subcommand reports bad input as one line on stderr and exits with
status 2; nothing that existed before (a model, a download) is touched then.
"""

import argparse
import sys

from . import demo, pipeline
from .core import halving
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
from .core.errors import BadInput
from .core.params import DEFAULT_ITERATIONS, Params
from .core.serving_files import ANN_THRESHOLD, load_calibration
from .core.steps import (
    ENGINES,
    PICK_ON,
    REFERENCE_EPOCHS,
    FitChoice,
    FitStep,
    FoldInEvalStep,
    Grid,
    IndexStep,
    LikesSource,
    SearchStep,
    SplitSettings,
)
from .fetch import DEFAULT_URL

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


def likes_source(args):
    """The :class:`LikesSource` of :func:`likes_arguments`."""
    return LikesSource(args.likes, args.min_user_likes, args.min_model_likes, args.skip_bad_rows)


def _demo_parser(sub):
    p = sub.add_parser("demo", help="write deterministic Sketchfab-like demo likes")
    p.add_argument("--out", required=True, metavar="PATH")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--users", type=positive_int, default=3000)
    p.add_argument("--models", type=at_least(demo.MIN_MODELS), default=2000)
    p.set_defaults(run=_run_demo)


def _run_demo(args):
    pipeline.demo(args.out, args.seed, args.users, args.models)


def _fetch_parser(sub):
    p = sub.add_parser("fetch", help="download the real Sketchfab likes")
    p.add_argument("--out", required=True, metavar="PATH")
    p.add_argument("--url", default=DEFAULT_URL)
    p.set_defaults(run=_run_fetch)


def _run_fetch(args):
    pipeline.fetch(args.url, args.out)


def _prepare_parser(sub):
    p = sub.add_parser("prepare", help="print duplicates and thresholding statistics")
    likes_arguments(p)
    p.set_defaults(run=lambda args: pipeline.prepare(likes_source(args)))


def _fit_parser(sub):
    p = sub.add_parser("fit", help="fit WRMF on all likes and write the model artifact")
    likes_arguments(p)
    p.add_argument("--out", required=True, metavar="MODEL.npz")
    fit_arguments(p)
    p.add_argument(
        "--engine",
        choices=ENGINES,
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
    """``--from-search`` or the WRMF parameters one by one (read by :func:`fit_choice`)."""
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
        "see) or by the blog post's user p@k",
    )
    p.add_argument(
        "--similarity-exponent",
        type=non_negative_float,
        default=None,
        help="the neighbour score's exponent (default: the pick's, else 1 = cosine)",
    )


def fit_choice(args):
    """The :class:`FitChoice` of :func:`fit_arguments`."""
    return FitChoice(
        args.from_search,
        args.objective,
        args.factors,
        args.regularization,
        args.alpha,
        args.iterations,
        args.similarity_exponent,
    )


def _run_fit(args):
    step = FitStep(
        likes_source(args), args.out, fit_choice(args), args.engine, args.spark_master, args.seed
    )
    pipeline.fit(step)


def _search_parser(sub):
    p = sub.add_parser(
        "search",
        help="successive halving or the full grid over learning curves; writes RESULTS.json",
    )
    likes_arguments(p)
    grid = Grid()
    p.add_argument("--out", required=True, metavar="RESULTS.json")
    p.add_argument("--factors", type=comma_list(factor_count), default=grid.factors)
    p.add_argument("--regularization", type=comma_list(weight), default=grid.regularization)
    p.add_argument("--alpha", type=comma_list(weight), default=grid.alpha)
    p.add_argument(
        "--epochs",
        type=epoch_range,
        default=REFERENCE_EPOCHS,
        help="start:stop:step as Python's range (default 2:40:2)",
    )
    split_arguments(p)
    settings = SplitSettings()
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
        choices=PICK_ON,
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
    """The blog post's split and p@k's k (read by :func:`split_settings`)."""
    split = SplitSettings()
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


def split_settings(args, **scoring):
    """:class:`SplitSettings` of :func:`split_arguments`; ``scoring`` sets the others."""
    return SplitSettings(args.k, args.split_count, args.fraction, args.seed, **scoring)


def _run_search(args):
    settings = split_settings(
        args,
        sim_k=args.sim_k,
        similarity_exponents=tuple(dict.fromkeys(args.similarity_exponent)),  # each once
        pick_on=args.pick_on,
        validation_seed=args.validation_seed,
    )
    grid = Grid(args.factors, args.regularization, args.alpha)
    strategy = halving.Strategy(args.strategy, args.objective, args.eta, args.first_rung)
    step = SearchStep(
        likes_source(args), args.out, grid, args.epochs, settings, strategy, args.resume
    )
    pipeline.search(step)


def _index_parser(sub):
    p = sub.add_parser(
        "index",
        help="build the files the web app serves a model with (beside it): mapped arrays, "
        "name index, approximate neighbours from --ann-threshold models",
    )
    p.add_argument("model", metavar="MODEL.npz")
    threshold = ANN_THRESHOLD
    p.add_argument(
        "--ann-threshold", type=positive_int, default=threshold, help=f"default {threshold}"
    )
    p.set_defaults(run=_run_index)


def _run_index(args):
    folder = pipeline.index(IndexStep(args.model, args.ann_threshold))
    print(folder)
    calibration = load_calibration(folder)
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
    pipeline.plot(args.results, args.out)


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
    step = FoldInEvalStep(likes_source(args), fit_choice(args), split_settings(args), args.few)
    pipeline.foldin_eval(step)


def _export_events_parser(sub):
    p = sub.add_parser(
        "export-events",
        help="write visitors' hearts (net of unhearts) from the web app's events file as likes",
    )
    p.add_argument("events", metavar="EVENTS.sqlite")
    p.add_argument("--out", required=True, metavar="LIKES.psv")
    p.set_defaults(run=lambda args: pipeline.export_events(args.events, args.out))
