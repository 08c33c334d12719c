"""Benchmark the demo generator: the previous one (cost grew with likes x models) against ours.

Usage: ``.venv/bin/python -m bench.demo [--sizes 2000x250000,15000x25000] [--big 1000000x1000000]
[--before COMMIT]``

Each run is a child process, so its peak RSS (ru_maxrss) is its own. ``--before``
names the commit whose ``training/demo.py`` is the reference (generation only,
as it built a list of rows); ours is timed generating and writing the file.
``--big`` sizes run ours alone (the reference would take hours).
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(BENCH_DIR, "out")
BEFORE = "0589425"


def child(which, users, models, before):
    """Run one generator in this process; print JSON with seconds, likes and peak RSS."""
    import training

    if which == "before":
        source = subprocess.run(
            ["git", "show", f"{before}:training/demo.py"],
            cwd=BENCH_DIR,  # any folder of the repository
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        module = type(training)("training.demo_before")
        module.__package__ = "training"
        exec(compile(source, "demo_before.py", "exec"), module.__dict__)
        started = time.perf_counter()
        likes = len(module.generate(0, users, models).rows)
        seconds, write = time.perf_counter() - started, None
    else:
        from training import demo

        started = time.perf_counter()
        generated = demo.generate(0, users, models)
        seconds = time.perf_counter() - started
        likes = len(generated.model)
        with tempfile.TemporaryDirectory(dir=OUT) as folder:
            started = time.perf_counter()
            demo.write_demo(os.path.join(folder, "likes.psv"), 0, users, models)
            write = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "which": which,
                "users": users,
                "models": models,
                "likes": likes,
                "generate_s": round(seconds, 2),
                "generate_and_write_s": None if write is None else round(write, 2),
                "peak_rss_mb": round(peak),
            }
        )
    )


def run(which, users, models, before):
    out = subprocess.run(
        [sys.executable, __file__, "--child", which, f"{users}x{models}", "--before", before],
        check=True,
        capture_output=True,
        text=True,
    )
    result = json.loads(out.stdout)
    print(json.dumps(result), flush=True)
    return result


def sizes(text):
    return [tuple(int(n) for n in size.split("x")) for size in text.split(",") if size]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=sizes, default=sizes("2000x250000,15000x25000"))
    parser.add_argument("--big", type=sizes, default=sizes("1000000x1000000"))
    parser.add_argument("--before", default=BEFORE)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        ((users, models),) = sizes(args.child[1])
        return child(args.child[0], users, models, args.before)
    os.makedirs(OUT, exist_ok=True)
    for users, models in args.sizes:
        before, ours = (
            run("before", users, models, args.before),
            run("ours", users, models, args.before),
        )
        print(
            f"{users} users x {models} models: before {before['generate_s']} s, "
            f"ours {ours['generate_s']} s (ratio {before['generate_s'] / ours['generate_s']:.0f}x)"
        )
    for users, models in args.big:
        run("ours", users, models, args.before)


if __name__ == "__main__":
    main()
