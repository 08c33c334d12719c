"""Benchmark interleaved trials: how many comparisons the sign test needs, and how often it
picks the wrong model when both are the same.

Usage: ``.venv/bin/python -m bench.trial [--runs 20] [--users 3000] [--models 2000]``

Data: ``python -m training demo`` likes; 30 % of the eligible users have 5 likes held out
(``tests/simulated_visitors.py``). Two models are fitted on the rest by
``python -m training fit``: *good* (40 factors, 15 iterations) and *weak* (4 factors,
2 iterations). Each scenario is one server as ``make serve`` runs it (nginx in front of
gunicorn, 2 workers x 4 threads; ``tests/admin_server.py``) on 127.0.0.1:

- **A/B**: the weak model active, the good one on trial (``SKETCHREC_TRIAL_MODEL_PATH``).
- **A/A**: the good model active and a copy of it on trial (the "weak" side is the copy).

A run replays every held-out visitor once, in a new order with new visitor ids: the
visitor opens one model they liked (``?visitor=`` list) and clicks the listed models
among their held-out likes (``POST /api/events``). Each (visitor, query) with a click is
a comparison; its outcome is read from the list's ticket (the bench signs with the
server's key) and the positions clicked, and the total is checked against
``/admin/trial.json`` at the end of the scenario. Reported per scenario: comparisons per
run; the first comparison count at which p < 0.05 with the candidate ahead (median over
runs, peeking after every comparison); and, testing once at a fixed count n (no peeking),
the share of runs where the sign test picks the candidate / the active model at p < 0.05.

A second row, *synthetic draws*, runs the same team-draft and sign test in-process on
drawn clicks (each card clicked with probability 0.10 from the better ranking's top
half, 0.05 otherwise), with no data or server, as a check of the machinery.

Loopback only, bounded (runs x visitors requests); nothing is asserted. Writes
bench/out/trial.json.
"""

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import requests

from webapp.events import tickets
from webapp.trial.interleave import seeded_rng, team_draft
from webapp.trial.sign_test import sign_test

from tests.admin_server import AdminServer
from tests.simulated_visitors import population, replay

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(BENCH_DIR, "out")

ALPHA = 0.05
FIXED_COUNTS = (25, 50, 100, 200)
GOOD = ["--factors", "40", "--iterations", "15"]
WEAK = ["--factors", "4", "--iterations", "2"]


def training(*args):
    """``python -m training ARGS``; its output only on failure."""
    done = subprocess.run(
        [sys.executable, "-m", "training", *args], capture_output=True, text=True, check=False
    )
    if done.returncode:
        sys.exit(done.stderr)


def outcomes(visits, key):
    """+1 (candidate), -1 (active) or 0 (tie) per visit with a click, in order."""
    found = []
    for _, ticket, clicked in visits:
        if not clicked:
            continue
        teams = tickets.read(ticket, key).teams
        candidate = sum(teams[p] == "c" for p in clicked)
        active = len(clicked) - candidate
        found.append((candidate > active) - (active > candidate))
    return found


def first_decision(signs):
    """Comparisons until p < ALPHA with the candidate ahead (peeking each time), or None."""
    wins = losses = 0
    for n, sign in enumerate(signs, 1):
        wins, losses = wins + (sign > 0), losses + (sign < 0)
        if wins > losses and sign_test(wins, losses) < ALPHA:
            return n
    return None


def picks_at(signs, n):
    """``"candidate"``, ``"active"`` or None: the sign test once, on the first n comparisons."""
    if len(signs) < n:
        return None
    wins, losses = sum(s > 0 for s in signs[:n]), sum(s < 0 for s in signs[:n])
    if sign_test(wins, losses) >= ALPHA:
        return None
    return "candidate" if wins > losses else "active"


def summary(runs):
    """The figures of a scenario from its runs' outcome lists."""
    decided = [first_decision(signs) for signs in runs]
    reached = [n for n in decided if n is not None]
    fixed = {}
    for n in FIXED_COUNTS:
        picks = [picks_at(signs, n) for signs in runs if len(signs) >= n]
        if picks:
            fixed[n] = {
                "runs": len(picks),
                "candidate": picks.count("candidate") / len(picks),
                "active": picks.count("active") / len(picks),
            }
    return {
        "runs": len(runs),
        "comparisons_per_run": statistics.median(len(s) for s in runs),
        "candidate_share_of_decisive": sum(s.count(1) for s in runs)
        / max(1, sum(s.count(1) + s.count(-1) for s in runs)),
        "first_decision_median": statistics.median(reached) if reached else None,
        "decided_runs": len(reached),
        "fixed": fixed,
    }


def scenario(name, folder, active, candidate, train, visitors, runs):
    """Serve ``active`` with ``candidate`` on trial; replay ``runs`` times; the summary."""
    server = AdminServer(
        os.path.join(folder, name), active, train, env={"SKETCHREC_TRIAL_MODEL_PATH": candidate}
    ).start()
    try:
        key = server.env["SKETCHREC_SECRET_KEY"]
        all_runs, started = [], time.perf_counter()
        with requests.Session() as session:
            for run in range(runs):
                order = random.Random(run).sample(visitors, len(visitors))
                all_runs.append(outcomes(replay(session, server.url, order, seed=run), key))
        seconds = time.perf_counter() - started
        report = settled_report(server, sum(len(s) for s in all_runs))
    finally:
        server.stop()
    result = summary(all_runs)
    result["seconds"] = round(seconds, 1)
    result["trial_json"] = report
    result["trial_json_agrees"] = report["wins"] == {
        "candidate": sum(s.count(1) for s in all_runs),
        "active": sum(s.count(-1) for s in all_runs),
        "tie": sum(s.count(0) for s in all_runs),
    }
    return result


def settled_report(server, expected, timeout=30):
    """/admin/trial.json once it counts ``expected`` comparisons (or after ``timeout``)."""
    session, deadline = server.session(), time.monotonic() + timeout
    while True:
        report = session.get(server.url + "/admin/trial.json", timeout=10).json()
        if report["comparisons"] >= expected or time.monotonic() > deadline:
            return report
        time.sleep(0.2)


def synthetic(runs, visitors, seed=0, k=10):
    """The synthetic-draws row: outcome lists of ``runs`` runs of ``visitors`` visitors."""
    rng = random.Random(seed)
    scenarios = {}
    for name, better in (("A/B", "c"), ("A/A", None)):
        all_runs = []
        for run in range(runs):
            signs = []
            for v in range(visitors):
                ranked = list(range(2 * k))
                mine, theirs = ranked[:], ranked[:]
                rng.shuffle(mine)  # the weaker ranking: its order carries no signal
                if better is None:
                    theirs = mine
                items, teams = team_draft(mine, theirs, k, seeded_rng(f"{run}-{v}", "q"))
                liked = {i for i in items if rng.random() < (0.10 if i < k else 0.05)}
                c = sum(t == "c" for i, t in zip(items, teams, strict=True) if i in liked)
                a = sum(t == "a" for i, t in zip(items, teams, strict=True) if i in liked)
                if a or c:
                    signs.append((c > a) - (a > c))
            all_runs.append(signs)
        scenarios[name] = summary(all_runs)
    return scenarios


def print_table(result):
    print(f"\n{result['visitors']} held-out visitors per run; machine: {result['machine']}\n")
    header = "| row | scenario | comparisons/run | candidate share of decisive |"
    header += " first p<0.05 (median, runs decided) |"
    header += "".join(f" picks at n={n}: candidate / active |" for n in FIXED_COUNTS)
    print(header)
    print("|" + " --- |" * (5 + len(FIXED_COUNTS)))
    for row, scenarios in (
        ("served (gunicorn)", result["served"]),
        ("synthetic draws", result["synthetic"]),
    ):
        for name, s in scenarios.items():
            cells = [
                row,
                name,
                f"{s['comparisons_per_run']:g}",
                f"{s['candidate_share_of_decisive']:.2f}",
                f"{s['first_decision_median']} ({s['decided_runs']}/{s['runs']})",
            ]
            for n in FIXED_COUNTS:
                f = s["fixed"].get(n)
                cells.append(f"{f['candidate']:.0%} / {f['active']:.0%}" if f else "–")
            print("| " + " | ".join(cells) + " |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--users", type=int, default=3000)
    parser.add_argument("--models", type=int, default=2000)
    args = parser.parse_args(argv)
    os.makedirs(OUT, exist_ok=True)
    folder = tempfile.mkdtemp(prefix="trial-bench-")
    try:
        likes, train = os.path.join(folder, "likes.psv"), os.path.join(folder, "train.psv")
        training("demo", "--out", likes, "--users", str(args.users), "--models", str(args.models))
        visitors = population(likes, train, fraction=0.3, seed=1)
        good, weak = os.path.join(folder, "good.npz"), os.path.join(folder, "weak.npz")
        training("fit", train, "--out", good, *GOOD)
        training("fit", train, "--out", weak, *WEAK)
        same = os.path.join(folder, "same.npz")
        shutil.copyfile(good, same)
        served = {
            "A/B": scenario("ab", folder, weak, good, train, visitors, args.runs),
            "A/A": scenario("aa", folder, good, same, train, visitors, args.runs),
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, shared",
        "users": args.users,
        "models": args.models,
        "visitors": len(visitors),
        "served": served,
        "synthetic": synthetic(args.runs, len(visitors)),
    }
    print_table(result)
    for name, s in served.items():
        agrees = s["trial_json_agrees"]
        print(f"{name}: /admin/trial.json agrees with the bench: {agrees}; {s['seconds']} s")
    with open(os.path.join(OUT, "trial.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
