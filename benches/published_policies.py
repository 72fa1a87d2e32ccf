#!/usr/bin/env python3
"""Hit ratios of published eviction policies on the block traces, for reference beside the
`compare` bench's peers: libCacheSim's implementations (Yang et al.; `pip install libcachesim`),
every request counted, each key an object of size 1, each policy with libCacheSim's defaults.

    pip install libcachesim                                  # and the zstd command
    benches/published_policies.py P2 524288                 # every policy listed below
    benches/published_policies.py P6 32768 LIRS,WTinyLFU     # some of them

The trace is read from the traces folder (`../shared/data/traces/` beside the repository, or
`READTHROUGH_TRACES`) and expanded to one request per block, as `read_block_trace` does, into a
libCacheSim binary trace in the system's temporary folder (kept for the next run).
"""
import os
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

POLICIES = ("LRU,ARC,LIRS,S3FIFO,WTinyLFU,ClockPro,TwoQ,Sieve,LHD,Cacheus,LeCaR,SLRU,"
            "Clock2QPlus").split(",")


def traces_folder():
    here = Path(__file__).resolve().parent.parent
    return Path(os.environ.get("READTHROUGH_TRACES", here.parent / "shared" / "data" / "traces"))


def expanded(trace):
    """The trace as libCacheSim's oracleGeneral records: time, id, size, next access (unknown)."""
    source = traces_folder() / f"{trace}.lis.zst"
    out = Path(tempfile.gettempdir()) / f"readthrough-{trace}-{source.stat().st_size}.oracleGeneral"
    if out.exists():
        return out
    text = subprocess.run(["zstd", "-dc", str(source)], capture_output=True, check=True).stdout
    records = bytearray()
    time = 0
    for line in text.decode().splitlines():
        fields = line.split()
        if len(fields) < 2:
            continue
        start, count = int(fields[0]), int(fields[1])
        for block in range(start, start + count):
            records += struct.pack("<IQIq", time, block, 1, -1)
            time += 1
    partial = out.with_suffix(".partial")
    partial.write_bytes(records)
    partial.rename(out)
    return out


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    trace, capacity = sys.argv[1], int(sys.argv[2])
    policies = sys.argv[3].split(",") if len(sys.argv) > 3 else POLICIES
    try:
        import libcachesim
    except ImportError:
        sys.exit("libcachesim is not installed: pip install libcachesim")
    try:
        path = expanded(trace)
    except FileNotFoundError as error:
        print(f"skipping {trace}: {error}")
        return
    print(f"| policy | {trace} {capacity} hit % |\n|---|---:|")
    for name in policies:
        reader = libcachesim.TraceReader(
            trace=str(path), trace_type=libcachesim.TraceType.ORACLE_GENERAL_TRACE
        )
        cache = getattr(libcachesim, name)(cache_size=capacity)
        miss_ratio, _ = cache.process_trace(reader)
        print(f"| {name} | {100 * (1 - miss_ratio):.2f} |", flush=True)


if __name__ == "__main__":
    main()
