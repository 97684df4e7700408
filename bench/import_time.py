"""Start-up cost: `import tocsin` plus sink discovery, beside `import structlog` alone.

    .venv/bin/python bench/import_time.py [--runs 21]

Each figure is a fresh interpreter (python -c), timed inside the process with perf_counter,
so interpreter start-up is excluded. Rows:
  structlog                 import structlog                        (the floor: tocsin needs it)
  tocsin                    import tocsin
  tocsin + discovery        import tocsin; find the tocsin.sinks entry points
  tocsin + load sinks       import tocsin; Emitter()  (discovery, import and build file + state)
  seed-like                 import structlog, json, threading, urllib.request (the seed's imports)
Target (issue 2): tocsin + discovery within 15 ms of structlog alone.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _stats import pct, table

CASES = {
    "structlog": "import structlog",
    "tocsin": "import tocsin",
    "tocsin + discovery": "import tocsin; from tocsin._discovery import find_sink_entry_points as f; f()",
    "tocsin + load sinks": "import tocsin; tocsin.Emitter()",
    "seed-like": "import structlog, json, threading, urllib.request, urllib.error",
}


def once(code: str) -> float:
    prog = f"import time; t0 = time.perf_counter(); {code}; print(time.perf_counter() - t0)"
    out = subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True, check=True,
                         env={"PATH": "/usr/bin:/bin", "HOME": "/tmp", "TOCSIN_CONFIG": "/dev/null"})
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    results: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(args.runs):  # interleaved, so that machine noise hits every case alike
        for name, code in CASES.items():
            results[name].append(once(code) * 1000)
    base = statistics.median(results["structlog"])
    rows = [(name, statistics.median(v), pct(v, 99), statistics.median(v) - base) for name, v in results.items()]
    print(f"import time, {args.runs} fresh interpreters each (milliseconds)")
    print(table(["what", "median ms", "p99 ms", "over structlog ms"], rows))


if __name__ == "__main__":
    main()
