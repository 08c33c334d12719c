"""Parsers for command-line (and form) values: each returns the value or raises
``argparse.ArgumentTypeError`` with a one-line reason."""

import argparse
import math

from .params import MAX_FACTORS, MAX_ITERATIONS, MAX_WEIGHT


def number(convert, accept, requirement):
    """A parser that converts text with ``convert`` and keeps values where ``accept(value)``."""
    kind = "an integer" if convert is int else "a number"

    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {kind}") from None
        if not accept(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not {requirement}")
        return value

    return parse


positive_int = number(int, lambda v: v >= 1, "positive")
non_negative_float = number(float, lambda v: 0 <= v < math.inf, "a finite number >= 0")
halving_rate = number(int, lambda v: v >= 2, "an integer >= 2")
fraction = number(float, lambda v: 0 < v <= 1, "in (0, 1]")
factor_count = number(int, lambda v: 1 <= v <= MAX_FACTORS, f"from 1 to {MAX_FACTORS}")
iteration_count = number(int, lambda v: 1 <= v <= MAX_ITERATIONS, f"from 1 to {MAX_ITERATIONS}")
weight = number(float, lambda v: 0 <= v <= MAX_WEIGHT, f"a number from 0 to {MAX_WEIGHT:g}")


def at_least(low):
    """A parser of integers ``>= low``."""
    return number(int, lambda v: v >= low, f"at least {low}")


def comma_list(item_type):
    """A parser of comma-separated values of ``item_type``, as a tuple."""

    def parse(text):
        try:
            return tuple(item_type(item) for item in text.split(","))
        except argparse.ArgumentTypeError as e:
            raise argparse.ArgumentTypeError(f"in {text!r}: {e}") from None

    return parse


def epoch_range(text):
    """``start:stop:step`` as Python's range, increasing and starting at 1 or more."""
    try:
        epochs = range(*(int(part) for part in text.split(":")))
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"{text!r} is not start:stop:step") from None
    if not epochs or epochs.start < 1 or epochs.step < 1:
        raise argparse.ArgumentTypeError(f"{text!r} gives no increasing epochs >= 1")
    if epochs[-1] > MAX_ITERATIONS:
        raise argparse.ArgumentTypeError(f"{text!r} goes past {MAX_ITERATIONS} epochs")
    return epochs
