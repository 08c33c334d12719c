"""Successive halving over learning curves, with ALS epochs as the budget.

Jamieson & Talwalkar (2016), one bracket of Hyperband (Li et al. 2017):
every configuration is fitted to the first rung's epochs; the best ``1/eta``
of them by the objective at that epoch go on to ``eta`` times as many
epochs, and so on to the last epoch. Curves are warm-started, so going from
one rung to the next costs only the epochs between them, and a curve cut at
a rung is the prefix of the one the full grid draws. The full grid is the
schedule with a single rung at the last epoch.
"""

import math
from dataclasses import dataclass

from .errors import BadInput
from .results import held_out, read_results

OBJECTIVES = ("similar", "patk")  # simk of the similar lists at its best exponent, user p@k
STRATEGIES = ("halving", "grid")
ETA = 3  # Hyperband's default: a third goes on, with three times the epochs


@dataclass(frozen=True)
class Strategy:
    """How configurations get their epochs: ``name`` ``halving`` (``eta``, the first rung
    at ``first_rung`` epochs, the first checkpoint when None) or the full ``grid``;
    ``objective``, what halving ranks by."""

    name: str = "halving"
    objective: str = "similar"
    eta: int = ETA
    first_rung: int = None

    def schedule(self, configurations, epochs):
        """The :class:`Schedule` of ``configurations`` (a count) over checkpoint ``epochs``."""
        if self.name == "grid":
            return grid_schedule(configurations, epochs)
        return halving_schedule(configurations, epochs, self.first_rung or epochs[0], self.eta)

    def as_dict(self, schedule):
        """RESULTS.json's ``search``: the strategy, objective and schedule."""
        return {"strategy": self.name, "objective": self.objective, **schedule.as_dict()}


@dataclass(frozen=True)
class Schedule:
    """Rungs known in advance: ``rungs`` are epochs (increasing, the last is the last
    checkpoint), ``sizes`` how many configurations run to each."""

    rungs: tuple
    sizes: tuple
    eta: int = None

    def work(self):
        """ALS iterations the whole schedule runs (the progress bar's total)."""
        return sum(
            size * (rung - previous)
            for size, rung, previous in zip(self.sizes, self.rungs, (0, *self.rungs), strict=False)
        )

    def as_dict(self):
        """RESULTS.json's ``search`` part of the schedule."""
        return {"eta": self.eta, "rungs": list(self.rungs), "sizes": list(self.sizes)}


def grid_schedule(configurations, epochs):
    """Every one of ``configurations`` (a count) to the last of ``epochs``."""
    return Schedule((epochs[-1],), (configurations,))


def halving_schedule(configurations, epochs, first_rung, eta=ETA):
    """Rungs at ``first_rung * eta**i`` epochs, each moved up to a checkpoint of ``epochs``,
    then the last epoch; ``configurations // eta**i`` (at least 1) run to rung i.

    A rung that would keep as many configurations as the next is dropped: it
    would only stop and restart the same fits.
    """
    rungs, target = [], first_rung
    while target < epochs[-1]:
        rung = next(e for e in epochs if e >= target)
        if not rungs or rung > rungs[-1]:
            rungs.append(rung)
        target *= eta
    rungs.append(epochs[-1])
    sizes = [max(1, configurations // eta**i) for i in range(len(rungs))]
    kept = [i for i in range(len(rungs)) if i == len(rungs) - 1 or sizes[i + 1] < sizes[i]]
    return Schedule(tuple(rungs[i] for i in kept), tuple(sizes[i] for i in kept), eta)


def rung_score(curve, epoch, objective, part):
    """What halving ranks by: ``curve``'s ``part`` p@k, or its best simk over the exponents,
    at ``epoch`` (a RESULTS.json curve); -inf where nothing is finite (a diverged fit)."""
    index = curve["epochs"].index(epoch)
    if objective == "patk":
        values = [curve["patk"][part][index]]
    else:
        values = [series[part][index] for series in curve["simk"]]
    return max((v for v in values if v is not None), default=-math.inf)


def promoted(curves, epoch, count, objective, part):
    """The ``count`` of ``curves`` that score best at ``epoch``, in their own order.

    Ties go to the earlier curve, so the grid's order decides, never chance.
    """
    scores = [rung_score(curve, epoch, objective, part) for curve in curves]
    ranked = sorted(range(len(curves)), key=lambda i: -scores[i])
    chosen = set(ranked[:count])
    return [curve for i, curve in enumerate(curves) if i in chosen]


def report_lines(results):
    """The summary's first lines: the strategy, the time spent and, for halving, how many
    configurations stopped at each rung (RESULTS.json with ``search``)."""
    search = results["search"]
    lines = [f"{describe(search, held_out(results))}; {search['seconds'] / 60:.1f} min"]
    if search["strategy"] == "halving":
        rows = rung_rows(results)
        stops = [f"{row['stopped']} at {row['epochs']} epochs" for row in rows[:-1]]
        lines.append(
            f"Stopped: {', '.join(stops)}; {rows[-1]['reached']} ran to {rows[-1]['epochs']}"
        )
    return lines


def describe(search, part):
    """One line: what the search runs and what it ranks by (RESULTS.json's ``search``)."""
    sizes, rungs = search["sizes"], search["rungs"]
    if search["strategy"] == "grid":
        return f"Full grid: {sizes[0]} configurations to {rungs[0]} epochs"
    steps = ", ".join(f"{size} to {rung}" for size, rung in zip(sizes, rungs, strict=True))
    name = "p@k" if search["objective"] == "patk" else "simk at its best exponent"
    return (
        f"Successive halving (eta {search['eta']}) by {part} {name}, configurations to "
        f"epochs: {steps}"
    )


def rung_rows(results):
    """Per rung of a RESULTS.json's schedule: ``epochs``, ``size`` (configurations that run
    to it), ``reached`` (how many have so far) and ``stopped`` (how many ended there:
    None until the rung is complete, 0 for the last)."""
    search, curves = results["search"], results["curves"]
    rows = []
    for index, (rung, size) in enumerate(zip(search["rungs"], search["sizes"], strict=True)):
        reached = sum(1 for c in curves if c.get("rung", -1) >= index)
        following = search["sizes"][index + 1] if index + 1 < len(search["sizes"]) else size
        done = reached == size
        rows.append(
            {
                "epochs": rung,
                "size": size,
                "reached": reached,
                "stopped": size - following if done else None,
            }
        )
    return rows


def search_progress(path):
    """``(share done, message)`` of the search writing the RESULTS.json at ``path``:
    ALS iterations run over the schedule's, and the rung it is at; (0, "starting")
    before the first curve is written."""
    try:
        results = read_results(path)
        search = results["search"]
    except (BadInput, KeyError):
        return 0.0, "starting"
    schedule = Schedule(tuple(search["rungs"]), tuple(search["sizes"]), search.get("eta"))
    share = sum(c["epochs"][-1] for c in results["curves"]) / max(schedule.work(), 1)
    rows = rung_rows(results)
    current = next((i for i, row in enumerate(rows) if row["reached"] < row["size"]), None)
    if current is None:
        return share, "scoring the pick on the test split"
    row = rows[current]
    where = f"rung {current + 1}/{len(rows)} ({row['epochs']} epochs), " if len(rows) > 1 else ""
    return share, f"{where}{row['reached']}/{row['size']} configurations"


def going_on(results, index):
    """The curves that go on from rung number ``index`` of a RESULTS.json: the best
    ``sizes[index + 1]`` of those that reached it, by the search's objective."""
    search = results["search"]
    return promoted(
        [c for c in results["curves"] if c["rung"] >= index],
        search["rungs"][index],
        search["sizes"][index + 1],
        search["objective"],
        held_out(results),
    )


def left_behind(results, index):
    """The curves that stopped at rung number ``index`` and cannot go on from it. While the
    rung runs, more curves reaching it only push these further down."""
    kept = {id(c) for c in going_on(results, index)}
    return [c for c in results["curves"] if c["rung"] == index and id(c) not in kept]


def stopped_curves(results):
    """``{params key: rung epochs}`` of the configurations halving stopped before the last
    epoch (once their rung is complete); empty for the full grid."""
    if results.get("search", {}).get("strategy") != "halving":
        return {}
    stopped = {}
    for index, row in enumerate(rung_rows(results)[:-1]):
        if row["stopped"] is None:
            break
        for curve in left_behind(results, index):
            stopped[params_key(curve["params"])] = row["epochs"]
    return stopped


def params_key(params):
    """A RESULTS.json curve's ``params`` as a hashable (factors, regularization, alpha)."""
    return (int(params["factors"]), float(params["regularization"]), float(params["alpha"]))
