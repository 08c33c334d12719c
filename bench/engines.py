"""Benchmark ``fit --engine spark`` (local mode) against the default engine on the same likes.

Usage: ``.venv/bin/python -m bench.engines [--sizes 15000x25000,150000x150000,370000x370000]
[--master local[2]] [--iterations 15] [--driver-memory 12g]``

For each ``USERSxMODELS`` it writes the demo likes once (bench/out/), then runs
``python -m training fit`` with each engine as a child process, polling /proc
every 0.2 s for the peak RSS of the CLI's Python process, of the Spark JVM
(driver and, in local mode, executors) and of Spark's Python workers. Reported:
wall time of the whole command, the ALS time the command prints, peaks, and
the ratio Spark / default. Results are printed as JSON lines.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time

from bench.prepare import demo_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def process_tree(root):
    """``{pid: (command, rss_mb)}`` of ``root`` and its descendants."""
    children, info = {}, {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                command = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        children.setdefault(int(fields[1]), []).append(int(pid))
        info[int(pid)] = (command, int(fields[21]) * PAGE_KB / 1024)
    tree, todo = {}, [root]
    while todo:
        pid = todo.pop()
        if pid in info:
            tree[pid] = info[pid]
        todo.extend(children.get(pid, []))
    return tree


def role(pid, root, command):
    if pid == root:
        return "cli_python"
    if "java" in command.split(" ", 1)[0]:
        return "jvm"
    return "spark_python_workers"


def run_fit(engine, likes, iterations, master, driver_memory):
    out = os.path.join(OUT, f"model_{engine}.npz")
    command = [
        sys.executable,
        "-m",
        "training",
        "fit",
        likes,
        "--out",
        out,
        "--iterations",
        str(iterations),
        "--engine",
        engine,
    ]
    env = dict(os.environ)
    if engine == "spark":
        command += ["--spark-master", master]
        env["SPARK_DRIVER_MEMORY"] = driver_memory
    started = time.perf_counter()
    proc = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    peaks, total = {}, 0.0
    while proc.poll() is None:
        sums = {}
        for pid, (cmd, rss) in process_tree(proc.pid).items():
            sums[role(pid, proc.pid, cmd)] = sums.get(role(pid, proc.pid, cmd), 0.0) + rss
        for key, value in sums.items():
            peaks[key] = max(peaks.get(key, 0.0), value)
        total = max(total, sum(sums.values()))
        time.sleep(0.2)
    wall = time.perf_counter() - started
    stdout, stderr = proc.communicate()
    if proc.returncode:
        raise SystemExit(f"{engine} failed: {stderr.strip()[-2000:]}")
    als = float(re.search(r"iterations in ([\d.]+) s", stdout).group(1))
    likes_line = [line for line in stdout.splitlines() if line.startswith("Number of")]
    return {
        "engine": engine,
        "wall_s": round(wall, 1),
        "als_s": als,
        "peak_rss_mb": {k: round(v) for k, v in peaks.items()},
        "peak_rss_total_mb": round(total),
        "after": likes_line[-2:],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="15000x25000,150000x150000,370000x370000")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--iterations", type=int, default=15)
    parser.add_argument("--driver-memory", default="12g")
    args = parser.parse_args()
    os.makedirs(OUT, exist_ok=True)
    for size in args.sizes.split(","):
        users, models = map(int, size.split("x"))
        likes = demo_file(users, models)
        rows = sum(1 for _ in open(likes, "rb")) - 1
        results = [
            run_fit(engine, likes, args.iterations, args.master, args.driver_memory)
            for engine in ("implicit", "spark")
        ]
        for result in results:
            print(json.dumps({"size": size, "rows": rows, **result}), flush=True)
        default, spark = results
        print(
            json.dumps(
                {
                    "size": size,
                    "spark_over_default": {
                        "wall": round(spark["wall_s"] / default["wall_s"], 1),
                        "als": round(spark["als_s"] / default["als_s"], 1),
                        "peak_rss_total": round(
                            spark["peak_rss_total_mb"] / default["peak_rss_total_mb"], 1
                        ),
                    },
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
