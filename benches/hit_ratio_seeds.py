#!/usr/bin/env python3
"""Hit ratios of several builds of the `hit_ratios` example over several hasher seeds, as
"after - before" per cell: the mean, lowest and highest difference against the first build.
How the eviction measurements of `benches/RESULTS-hit-ratio.md` were taken (an idea is kept
only if it holds on every seed, not on one lucky one).

    cargo build --release -p readthrough-benches --example hit_ratios
    cp target/release/examples/hit_ratios /tmp/before      # then change the code, build again
    benches/hit_ratio_seeds.py "P2 P6 zipf" 1,2,3,4,5 \\
        before=/tmp/before after=target/release/examples/hit_ratios

A build may carry environment variables for it alone: `name=BINARY:VAR=1,OTHER=2`.
Arguments are passed to each build as its workload list; `CAPACITIES` passes through.
`MORE_TRACES=folder` also replays that folder's `P2.lis.zst` and `P6.lis.zst` (more traces of
the collection renamed so, kept outside the repository), reported as `MORE_NAMES` (default
"P3,P12"). `JOBS=n` runs n replays at once (default 2). Belady's column is skipped.
"""
import os
import re
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor


def parse_build(spec):
    name, rest = spec.split("=", 1)
    binary, _, settings = rest.partition(":")
    env = dict(kv.split("=", 1) for kv in settings.split(",")) if settings else {}
    return name, binary, env


def replay(job):
    (name, binary, env), seed, folder = job
    run_env = dict(os.environ, **env, SEED=str(seed), NO_BELADY="1")
    workloads = sys.argv[1].split()
    renamed = {}
    if folder:
        run_env["READTHROUGH_TRACES"] = folder
        workloads = [w for w in workloads if w.lower() in ("p2", "p6")] or ["P2", "P6"]
        more = os.environ.get("MORE_NAMES", "P3,P12").split(",")
        renamed = {"P2": more[0], "P6": more[1]}
    output = subprocess.run(
        [binary, *workloads], env=run_env, capture_output=True, text=True, check=True
    ).stdout
    rows = {}
    for line in output.splitlines():
        row = re.match(r"\| (.+?) \| (.+?) \| ([0-9.]+) \|", line)
        if row:
            workload = renamed.get(row.group(1), row.group(1))
            rows[(workload, row.group(2))] = float(row.group(3))
    return name, seed, rows


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    seeds = [int(seed) for seed in sys.argv[2].split(",")]
    builds = [parse_build(spec) for spec in sys.argv[3:]]
    folders = [None] + ([os.environ["MORE_TRACES"]] if os.environ.get("MORE_TRACES") else [])
    jobs = [(build, seed, folder) for folder in folders for build in builds for seed in seeds]
    ratios = {}
    with ThreadPoolExecutor(int(os.environ.get("JOBS", "2"))) as pool:
        for name, seed, rows in pool.map(replay, jobs):
            for cell, ratio in rows.items():
                ratios.setdefault(cell, {}).setdefault(name, {})[seed] = ratio
    first = builds[0][0]
    print(f"| workload | capacity | {first} (mean) |"
          + "".join(f" {name} - {first} (mean / min / max) |" for name, _, _ in builds[1:]))
    print("|---|---:|---:|" + "---:|" * (len(builds) - 1))
    for (workload, capacity), by_build in ratios.items():
        base = by_build.get(first)
        if not base:
            continue
        line = f"| {workload} | {capacity} | {statistics.mean(base.values()):.2f} |"
        for name, _, _ in builds[1:]:
            other = by_build.get(name, {})
            gaps = [other[seed] - base[seed] for seed in seeds if seed in other and seed in base]
            line += f" {statistics.mean(gaps):+.2f} / {min(gaps):+.2f} / {max(gaps):+.2f} |" if gaps else " |"
        print(line)


if __name__ == "__main__":
    main()
