"""The post's two search figures as one inline SVG, without matplotlib.

Left: the best configuration's learning curve (held-out p@k against epochs:
validation, or test for a search that picked on test) with its best epoch
marked and the popularity baseline dashed. Right: every configuration's
p@k trace, the better ones darker, as the post drew them; a cross
ends the traces that successive halving stopped early. When the search
measured similar-list recall, a second row: the simk curves of the best
configuration by simk, one per similarity exponent, and the exponent's
effect (each configuration's best simk against the exponent).
:func:`curves_svg` returns an ``<svg>`` element that the ``plot`` command
writes to a file and the admin page embeds; all text is escaped. Its
``<title>`` and ``<desc>`` carry the numbers it shows, which
:func:`figure_numbers` also gives to the admin page for a table beside it.
"""

import math
from dataclasses import dataclass
from html import escape

from .halving import params_key, stopped_curves
from .results import held_out

PANEL_WIDTH, HEIGHT = 480, 400
LEFT, RIGHT, TOP, BOTTOM = 64, 20, 64, 52
INK, TRACE, BASELINE = "#333333", "#1f77b4", "#d62728"
EXPONENT_COLOURS = ("#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2")
FONT = 'font-family="sans-serif"'


@dataclass
class Axes:
    """Maps data (epochs or exponents, a metric) to pixels inside one panel whose top-left
    corner is (``left``, ``top``)."""

    left: float
    epochs: tuple
    top_value: float
    top: float = 0

    def x(self, epoch):
        lo, hi = self.epochs
        span = (hi - lo) or 1
        return self.left + LEFT + (epoch - lo) / span * (PANEL_WIDTH - LEFT - RIGHT)

    def y(self, value):
        return self.top + TOP + (1 - value / self.top_value) * (HEIGHT - TOP - BOTTOM)


def figure_numbers(results):
    """What the figures show, as numbers for a text alternative.

    A dict: ``k``; ``part`` (``validation`` or ``test``: what the curves
    were scored on); ``baseline`` (popularity p@k there, or None); ``best``
    (the left panel: ``params`` text, ``points`` as (epoch, p@k or None), its
    best ``score`` and ``epoch``); ``configurations`` (the right panel, best
    first: ``params`` text, best ``score``, at ``epoch``, and ``stopped``, the
    epochs where halving stopped it, or None); ``summary``, one sentence.
    ``best`` is None while no configuration has a finite p@k.
    """
    k, part = results["split"]["k"], held_out(results)
    baseline = results.get("baseline", {}).get(f"popularity_patk_{part}")
    ranked = _ranked(results["curves"], part)
    stopped = stopped_curves(results)
    configurations = [
        {
            "params": _describe(c["params"]),
            "score": score,
            "epoch": _best_epoch(c, score, part),
            "stopped": stopped.get(params_key(c["params"])),
        }
        for score, c in ranked
    ]
    numbers = {"k": k, "part": part, "baseline": baseline, "configurations": configurations}
    if not configurations:
        summary = f"No configuration has a finite {part} p@k yet."
        return {**numbers, "best": None, "summary": summary}
    best_curve = ranked[0][1]
    best = {
        **configurations[0],
        "points": list(zip(best_curve["epochs"], best_curve["patk"][part], strict=True)),
    }
    summary = (
        f"Best {part} p@{k} {best['score']:.4f} at epoch {best['epoch']} with {best['params']}"
        + (f"; popularity baseline {baseline:.4f}" if baseline is not None else "")
        + f"; {len(configurations)} configurations"
        + (f", {len(stopped)} stopped early by successive halving." if stopped else ".")
    )
    return {**numbers, "best": best, "summary": summary}


def curves_svg(results):
    """The figures of a RESULTS.json dict as an SVG string: 960 x 400 user units, 960 x 800
    with the simk row."""
    part = held_out(results)
    ranked = _ranked(results["curves"], part)
    numbers = figure_numbers(results)
    width = 2 * PANEL_WIDTH
    best_simk = results.get("best_simk")
    height = 2 * HEIGHT if best_simk and ranked else HEIGHT
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img">',
        f"<title>Search learning curves. {escape(numbers['summary'])}</title>",
        f"<desc>{escape(_configurations_text(numbers))}</desc>",
        f'<rect width="{width}" height="{height}" fill="white"/>',
    ]
    if not ranked:
        parts.append(_text(width / 2, HEIGHT / 2, numbers["summary"], 16, "middle"))
        return "\n".join(parts + ["</svg>"])
    k, baseline = numbers["k"], numbers["baseline"]
    values = [v for _, c in ranked for v in c["patk"][part] if v is not None] + [baseline or 0]
    epochs = [e for _, c in ranked for e in c["epochs"]]
    top_value, y_ticks = _nice_ticks(max(values))
    span = (min(epochs), max(epochs))
    best_score, best = ranked[0]
    left, right = Axes(0, span, top_value), Axes(PANEL_WIDTH, span, top_value)
    label = f"{part.capitalize()} p@{k}"
    parts += _frame(left, y_ticks, "Best learning curve", _describe(best["params"]), label)
    parts += _best_panel(left, best, best_score, baseline, part)
    stopped = [c["stopped"] for c in numbers["configurations"]]
    subtitle = f"{len(ranked)} configurations, darker is better"
    if any(stopped):
        subtitle += "; × stopped by halving"
    parts += _frame(right, y_ticks, "Search p@k traces", subtitle, label)
    for rank, (score, curve) in reversed(list(enumerate(ranked))):
        tip = f"{_describe(curve['params'])}: best {score:.5f}"
        if stopped[rank]:
            tip += f", stopped after {stopped[rank]} epochs"
        style = f'stroke="{TRACE}" stroke-opacity="{1 / (0.1 * rank + 1):.3f}"'
        parts += _trace(right, curve["epochs"], curve["patk"][part], style, tip)
        if stopped[rank]:
            parts.append(_cross(right, curve["epochs"], curve["patk"][part], style, tip))
    if height > HEIGHT:
        parts += _simk_row(results, best_simk, span, part)
    return "\n".join(parts + ["</svg>"])


def _simk_row(results, best_simk, span, part):
    """The best configuration's simk curves by exponent, and the exponent's effect."""
    curves = [c for c in results["curves"] if c.get("simk")]
    curve = next(c for c in curves if c["params"] == best_simk["params"])
    baseline = results["baseline"].get(f"popularity_simk_{part}")
    sim_k = results["split"]["sim_k"]
    values = [v for c in curves for s in c["simk"] for v in s[part] if v is not None]
    top_value, y_ticks = _nice_ticks(max(values + [baseline or 0]))
    left = Axes(0, span, top_value, top=HEIGHT)
    label = f"{part.capitalize()} simk@{sim_k}"
    parts = _frame(left, y_ticks, "Best similar lists", _describe(best_simk["params"]), label)
    for colour, series in zip(EXPONENT_COLOURS * 9, curve["simk"], strict=False):
        name = _exponent_name(series["exponent"])
        tip = f"{name}: {part} simk"
        parts += _trace(left, curve["epochs"], series[part], f'stroke="{colour}"', tip)
        last = max((i for i, v in enumerate(series[part]) if v is not None), default=None)
        if last is not None:
            x, y = left.x(curve["epochs"][last]), left.y(series[part][last])
            parts.append(_text(x - 4, y - 6, name, 11, "end", colour))
    best_value = best_simk[f"simk_{part}"]
    x, y = left.x(best_simk["iterations"]), left.y(best_value)
    parts += [
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{INK}"/>',
        _text(
            x,
            y - 10,
            f"{best_value:.4f} at {best_simk['iterations']}",
            12,
            _anchor(left, best_simk["iterations"]),
        ),
    ]
    parts += _baseline(left, baseline)
    exponents = [s["exponent"] for s in curve["simk"]]
    right = Axes(PANEL_WIDTH, (min(exponents), max(exponents)), top_value, top=HEIGHT)
    effect = sorted(
        ((_best_by_exponent(c, part), c) for c in curves),
        key=lambda pair: -max((v for v in pair[0] if v is not None), default=-1.0),
    )
    parts += _frame(
        right,
        y_ticks,
        "The exponent's effect",
        f"best {part} simk of each configuration; 1 is cosine, darker is better",
        label,
        x_label="Similarity exponent",
        x_ticks=sorted(exponents),
    )
    for rank, (best_values, c) in reversed(list(enumerate(effect))):
        style = f'stroke="{TRACE}" stroke-opacity="{1 / (0.1 * rank + 1):.3f}"'
        parts += _trace(right, exponents, best_values, style, _describe(c["params"]))
    parts += _baseline(right, baseline)
    return parts


def _best_by_exponent(curve, part):
    """A curve's best ``part`` simk over its epochs, per exponent (None where none is finite)."""
    return [max((v for v in s[part] if v is not None), default=None) for s in curve["simk"]]


def _exponent_name(exponent):
    return "cosine" if exponent == 1 else f"exponent {exponent:g}"


def _ranked(curves, part):
    """``(best p@k on part, curve)`` of curves with a finite value, best first (stable)."""
    scored = [
        (max(v for v in c["patk"][part] if v is not None), c)
        for c in curves
        if any(v is not None for v in c["patk"][part])
    ]
    return sorted(scored, key=lambda pair: -pair[0])


def _configurations_text(numbers):
    """The right panel in words: each configuration's best test p@k, best first."""
    return " ".join(
        f"{c['params']}: best {c['score']:.4f} at epoch {c['epoch']}"
        + (f", stopped after {c['stopped']} epochs." if c["stopped"] else ".")
        for c in numbers["configurations"]
    )


def _best_epoch(curve, score, part):
    """The first epoch of ``curve`` whose ``part`` p@k is ``score``."""
    return next(e for e, v in zip(curve["epochs"], curve["patk"][part], strict=True) if v == score)


def _best_panel(axes, curve, score, baseline, part):
    epoch = _best_epoch(curve, score, part)
    tip = f"{_describe(curve['params'])}: best {score:.5f}"
    parts = _trace(axes, curve["epochs"], curve["patk"][part], f'stroke="{TRACE}"', tip)
    x, y = axes.x(epoch), axes.y(score)
    parts += [
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{TRACE}"/>',
        _text(x, y - 10, f"{score:.4f} at {epoch}", 12, _anchor(axes, epoch), TRACE),
    ]
    return parts + _baseline(axes, baseline)


def _anchor(axes, x):
    """Text anchor keeping a label at ``x`` away from the panel's edges, so it stays inside."""
    share = (x - axes.epochs[0]) / ((axes.epochs[1] - axes.epochs[0]) or 1)
    return "start" if share < 0.25 else "end" if share > 0.75 else "middle"


def _baseline(axes, baseline):
    """The popularity baseline as a dashed line across the panel (nothing when unknown)."""
    if baseline is None:
        return []
    x0, x1, yb = axes.x(axes.epochs[0]), axes.x(axes.epochs[1]), axes.y(baseline)
    return [
        f'<line x1="{x0:.1f}" y1="{yb:.1f}" x2="{x1:.1f}" y2="{yb:.1f}" stroke="{BASELINE}" '
        'stroke-dasharray="6 4"/>',
        _text(x1, yb - 6, f"popularity {baseline:.4f}", 12, "end", BASELINE),
    ]


def _trace(axes, xs, values, style, tip):
    """Polylines of ``values`` against ``xs`` (epochs or exponents), broken where a value is
    missing (a diverged fit)."""
    parts, run = [], []
    for epoch, value in [*zip(xs, values, strict=True), (None, None)]:
        if value is not None:
            run.append(f"{axes.x(epoch):.1f},{axes.y(value):.1f}")
        elif run:
            parts.append(
                f'<polyline points="{" ".join(run)}" fill="none" stroke-width="2" {style}>'
                f"<title>{escape(tip)}</title></polyline>"
            )
            run = []
    return parts


def _cross(axes, epochs, values, style, tip):
    """A small × at the last finite point of a trace: where halving stopped it."""
    last = max((i for i, v in enumerate(values) if v is not None), default=len(values) - 1)
    x, y = axes.x(epochs[last]), axes.y(values[last] or 0)
    return (
        f'<path d="M{x - 4:.1f},{y - 4:.1f} l8,8 m0,-8 l-8,8" stroke-width="1.5" '
        f"{style}><title>{escape(tip)}</title></path>"
    )


def _frame(axes, y_ticks, title, subtitle, y_label, x_label="Epochs", x_ticks=None):
    """Title, axes, ticks and labels of one panel (epoch ticks unless ``x_ticks`` given)."""
    x0, x1 = axes.x(axes.epochs[0]), axes.x(axes.epochs[1])
    y0, y1 = axes.y(0), axes.y(axes.top_value)
    middle = (x0 + x1) / 2
    parts = [
        _text(middle, axes.top + 24, title, 18, "middle"),
        _text(middle, axes.top + 44, subtitle, 12, "middle"),
        f'<path d="M{x0:.1f},{y1:.1f} V{y0:.1f} H{x1:.1f}" fill="none" stroke="{INK}"/>',
        _text(middle, axes.top + HEIGHT - 12, x_label, 14, "middle"),
        _text(axes.left + 18, (y0 + y1) / 2, y_label, 14, "middle", vertical=True),
    ]
    for value in y_ticks:
        y = axes.y(value)
        parts += [
            f'<line x1="{x0 - 4:.1f}" y1="{y:.1f}" x2="{x0:.1f}" y2="{y:.1f}" stroke="{INK}"/>',
            _text(x0 - 7, y + 4, f"{value:g}", 11, "end"),
        ]
    for tick in _epoch_ticks(axes.epochs) if x_ticks is None else x_ticks:
        x = axes.x(tick)
        parts += [
            f'<line x1="{x:.1f}" y1="{y0:.1f}" x2="{x:.1f}" y2="{y0 + 4:.1f}" stroke="{INK}"/>',
            _text(x, y0 + 17, f"{tick:g}", 11, "middle"),
        ]
    return parts


def _text(x, y, text, size, anchor, color=INK, vertical=False):
    turn = f' transform="rotate(-90 {x:.1f} {y:.1f})"' if vertical else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}"{turn} {FONT} font-size="{size}" text-anchor="{anchor}" '
        f'fill="{color}">{escape(text)}</text>'
    )


def _describe(params):
    return (
        f"factors {params['factors']}, regularization {params['regularization']:g}, "
        f"alpha {params['alpha']:g}"
    )


def _nice_ticks(high):
    """``(top, ticks)``: a round top >= ``high`` (> 0) and 4 to 10 ticks from 0 to it."""
    high = high if high > 0 else 1.0
    step = 10.0 ** math.floor(math.log10(high / 5))
    for factor in (1, 2, 5, 10):
        if high / (step * factor) <= 8:
            step *= factor
            break
    count = math.ceil(high / step - 1e-9)
    return count * step, [round(i * step, 12) for i in range(count + 1)]


def _epoch_ticks(span):
    """About 10 epoch ticks at a step of 1, 2, 5 or a multiple of 5."""
    lo, hi = span
    step = next((s for s in (1, 2, 5, 10, 20, 50, 100) if (hi - lo) / s <= 10), -(-(hi - lo) // 10))
    first = -(-lo // step) * step
    return list(range(first, hi + 1, step))
