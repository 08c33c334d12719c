"""The reference post's two grid-search figures as one inline SVG, without matplotlib.

Left: the best configuration's learning curve (test p@k against epochs) with
its best epoch marked and the popularity baseline dashed. Right: every
configuration's test p@k trace, the better ones darker, as the reference post drew
them. :func:`curves_svg` returns an ``<svg>`` element that the ``plot``
command writes to a file and the admin page embeds; all text is escaped.
Its ``<title>`` and ``<desc>`` carry the numbers it shows, which
:func:`figure_numbers` also gives to the admin page for a table beside it.
"""

import math
from dataclasses import dataclass
from html import escape

PANEL_WIDTH, HEIGHT = 480, 400
LEFT, RIGHT, TOP, BOTTOM = 64, 20, 64, 52
INK, TRACE, BASELINE = "#333333", "#1f77b4", "#d62728"
FONT = 'font-family="sans-serif"'


@dataclass
class Axes:
    """Maps data (epochs, p@k) to pixels inside one panel whose left edge is ``left``."""

    left: float
    epochs: tuple
    top_value: float

    def x(self, epoch):
        lo, hi = self.epochs
        span = (hi - lo) or 1
        return self.left + LEFT + (epoch - lo) / span * (PANEL_WIDTH - LEFT - RIGHT)

    def y(self, value):
        return TOP + (1 - value / self.top_value) * (HEIGHT - TOP - BOTTOM)


def figure_numbers(results):
    """What the figures show, as numbers for a text alternative.

    A dict: ``k``; ``baseline`` (popularity test p@k or None); ``best`` (the
    left panel: ``params`` text, ``points`` as (epoch, test p@k or None), its
    best ``score`` and ``epoch``); ``configurations`` (the right panel, best first:
    ``params`` text, best ``score``, at ``epoch``); ``summary``, one sentence.
    ``best`` is None while no configuration has a finite test p@k.
    """
    k = results["split"]["k"]
    baseline = results.get("baseline", {}).get("popularity_patk_test")
    ranked = _ranked(results["curves"])
    configurations = [
        {"params": _describe(c["params"]), "score": score, "epoch": _best_epoch(c, score)}
        for score, c in ranked
    ]
    if not configurations:
        return {
            "k": k,
            "baseline": baseline,
            "best": None,
            "configurations": [],
            "summary": "No configuration has a finite test p@k yet.",
        }
    best_curve = ranked[0][1]
    best = {
        **configurations[0],
        "points": list(zip(best_curve["epochs"], best_curve["patk"]["test"], strict=True)),
    }
    summary = (
        f"Best test p@{k} {best['score']:.4f} at epoch {best['epoch']} with {best['params']}"
        + (f"; popularity baseline {baseline:.4f}" if baseline is not None else "")
        + f"; {len(configurations)} configurations."
    )
    return {
        "k": k,
        "baseline": baseline,
        "best": best,
        "configurations": configurations,
        "summary": summary,
    }


def curves_svg(results):
    """The two figures of a RESULTS.json dict as an SVG string (960 x 400 user units)."""
    ranked = _ranked(results["curves"])
    numbers = figure_numbers(results)
    width = 2 * PANEL_WIDTH
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {HEIGHT}" '
        f'width="{width}" height="{HEIGHT}" role="img">',
        f"<title>Grid-search learning curves. {escape(numbers['summary'])}</title>",
        f"<desc>{escape(_configurations_text(numbers))}</desc>",
        f'<rect width="{width}" height="{HEIGHT}" fill="white"/>',
    ]
    if not ranked:
        parts.append(_text(width / 2, HEIGHT / 2, numbers["summary"], 16, "middle"))
        return "\n".join(parts + ["</svg>"])
    k = results["split"]["k"]
    baseline = results.get("baseline", {}).get("popularity_patk_test")
    values = [v for _, c in ranked for v in c["patk"]["test"] if v is not None] + [baseline or 0]
    epochs = [e for _, c in ranked for e in c["epochs"]]
    top_value, y_ticks = _nice_ticks(max(values))
    span = (min(epochs), max(epochs))
    best_score, best = ranked[0]
    left, right = Axes(0, span, top_value), Axes(PANEL_WIDTH, span, top_value)
    parts += _frame(left, y_ticks, "Best learning curve", _describe(best["params"]), k)
    parts += _best_panel(left, best, best_score, baseline)
    parts += _frame(
        right,
        y_ticks,
        "Grid-search p@k traces",
        f"{len(ranked)} configurations, darker is better",
        k,
    )
    for rank, (score, curve) in reversed(list(enumerate(ranked))):
        tip = f"{_describe(curve['params'])}: best {score:.5f}"
        parts += _trace(
            right, curve, f'stroke="{TRACE}" stroke-opacity="{1 / (0.1 * rank + 1):.3f}"', tip
        )
    return "\n".join(parts + ["</svg>"])


def _ranked(curves):
    """``(best test p@k, curve)`` of curves with a finite value, best first (stable)."""
    scored = [
        (max(v for v in c["patk"]["test"] if v is not None), c)
        for c in curves
        if any(v is not None for v in c["patk"]["test"])
    ]
    return sorted(scored, key=lambda pair: -pair[0])


def _configurations_text(numbers):
    """The right panel in words: each configuration's best test p@k, best first."""
    return " ".join(
        f"{c['params']}: best {c['score']:.4f} at epoch {c['epoch']}."
        for c in numbers["configurations"]
    )


def _best_epoch(curve, score):
    """The first epoch of ``curve`` whose test p@k is ``score``."""
    return next(
        e for e, v in zip(curve["epochs"], curve["patk"]["test"], strict=True) if v == score
    )


def _best_panel(axes, curve, score, baseline):
    epoch = _best_epoch(curve, score)
    parts = _trace(
        axes, curve, f'stroke="{TRACE}"', f"{_describe(curve['params'])}: best {score:.5f}"
    )
    x, y = axes.x(epoch), axes.y(score)
    # Anchor the label away from the panel's edges so it stays inside.
    share = (epoch - axes.epochs[0]) / ((axes.epochs[1] - axes.epochs[0]) or 1)
    anchor = "start" if share < 0.25 else "end" if share > 0.75 else "middle"
    parts += [
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{TRACE}"/>',
        _text(x, y - 10, f"{score:.4f} at {epoch}", 12, anchor, TRACE),
    ]
    if baseline is not None:
        x0, x1, yb = axes.x(axes.epochs[0]), axes.x(axes.epochs[1]), axes.y(baseline)
        parts += [
            f'<line x1="{x0:.1f}" y1="{yb:.1f}" x2="{x1:.1f}" y2="{yb:.1f}" stroke="{BASELINE}" '
            'stroke-dasharray="6 4"/>',
            _text(x1, yb - 6, f"popularity {baseline:.4f}", 12, "end", BASELINE),
        ]
    return parts


def _trace(axes, curve, style, tip):
    """Polylines of a curve's test p@k, broken where a value is missing (a diverged fit)."""
    parts, run = [], []
    points = list(zip(curve["epochs"], curve["patk"]["test"], strict=True))
    for epoch, value in points + [(None, None)]:
        if value is not None:
            run.append(f"{axes.x(epoch):.1f},{axes.y(value):.1f}")
        elif run:
            parts.append(
                f'<polyline points="{" ".join(run)}" fill="none" stroke-width="2" {style}>'
                f"<title>{escape(tip)}</title></polyline>"
            )
            run = []
    return parts


def _frame(axes, y_ticks, title, subtitle, k):
    """Title, axes, ticks and labels of one panel."""
    x0, x1 = axes.x(axes.epochs[0]), axes.x(axes.epochs[1])
    y0, y1 = axes.y(0), axes.y(axes.top_value)
    middle = (x0 + x1) / 2
    parts = [
        _text(middle, 24, title, 18, "middle"),
        _text(middle, 44, subtitle, 12, "middle"),
        f'<path d="M{x0:.1f},{y1:.1f} V{y0:.1f} H{x1:.1f}" fill="none" stroke="{INK}"/>',
        _text(middle, HEIGHT - 12, "Epochs", 14, "middle"),
        _text(axes.left + 18, (y0 + y1) / 2, f"Test p@{k}", 14, "middle", vertical=True),
    ]
    for value in y_ticks:
        y = axes.y(value)
        parts += [
            f'<line x1="{x0 - 4:.1f}" y1="{y:.1f}" x2="{x0:.1f}" y2="{y:.1f}" stroke="{INK}"/>',
            _text(x0 - 7, y + 4, f"{value:g}", 11, "end"),
        ]
    for epoch in _epoch_ticks(axes.epochs):
        x = axes.x(epoch)
        parts += [
            f'<line x1="{x:.1f}" y1="{y0:.1f}" x2="{x:.1f}" y2="{y0 + 4:.1f}" stroke="{INK}"/>',
            _text(x, y0 + 17, str(epoch), 11, "middle"),
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
