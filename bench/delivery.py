"""Network delivery: tocsin's engine beside the seed's design and Apprise, in one run.

tocsin runs with the webhook sink's `batch = true` (coalescing, as Discord and Slack always
do), plus one row under 429 with batching off, one POST per alert.

    .venv/bin/pip install -r bench/requirements.txt    # Apprise, the baseline
    .venv/bin/python bench/delivery.py [--quick]

Each client is a fresh process (bench/_client.py); the receivers are real HTTP servers on
127.0.0.1 in this process (tocsin.testing.Receiver). Scenarios:
  latency   200 alerts to a 50 ms endpoint: caller p50/p99
  exit      20 processes that each emit one alert and exit at once: how many arrive
  429       a burst of 200 to a receiver limited like Discord (5 per 2 s, 429 + retry_after)
  503       200 alerts to a receiver failing every other request with 503
  flood     alerts to an endpoint that never answers: peak threads, RSS growth, caller p99
            (20 000 for tocsin; 3 000 for the naive sender, as the issue measured; Apprise
            blocks each call for its 4 s timeout, so 3 calls)
Targets (issue 3): caller p99 <= 1 ms; 100 % delivered at exit, under 503 and under 429;
<= 16 threads and <= 60 MB growth in the flood.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tocsin.testing import Received, Receiver, Reply, flaky, hanging, rate_limited

Behaviour = Callable[[Received], Reply]

sys.path.insert(0, str(Path(__file__).parent))
from _stats import table  # noqa: E402 - the sibling helper, importable once the path is set

CLIENT = str(Path(__file__).parent / "_client.py")
IMPLS = ("naive", "apprise", "tocsin")


def client(impl: str, url: str, count: int, *extra: str, timeout: float = 300) -> dict[str, float]:
    out = subprocess.run([sys.executable, CLIENT, impl, url, str(count), *extra], capture_output=True, text=True,
                         timeout=timeout)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        raise RuntimeError(f"{impl} client failed: {out.stderr[-2000:]}")
    result: dict[str, float] = json.loads(lines[-1])
    return result


def alerts_received(receiver: Receiver) -> int:
    """How many alerts the requests that reached the receiver carried."""
    count = 0
    for request in receiver.requests:
        try:
            data = request.json()
        except ValueError:
            continue
        count += len(data.get("alerts", [data])) if isinstance(data, dict) else 0
    return count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller counts, for a smoke run")
    args = parser.parse_args()
    n = 60 if args.quick else 200
    rows = []

    # latency, 50 ms endpoint
    for impl in IMPLS:
        with Receiver(hanging(0.05)) as receiver:
            count = 20 if impl == "apprise" else n  # Apprise blocks 50 ms per call
            r = client(impl, receiver.url_for("/hook"), count, "--flush-timeout", "1", "--batch")
        rows.append((impl, "latency 50 ms endpoint", f"{count} alerts", f"p50 {r['p50_us']:.0f} us",
                     f"p99 {r['p99_us']:.0f} us"))

    # delivered at exit
    runs = 6 if args.quick else 20
    for impl in IMPLS:
        with Receiver(hanging(0.05)) as receiver:
            for _ in range(runs):
                client(impl, receiver.url_for("/hook"), 1)
            time.sleep(0.5)
            got = alerts_received(receiver)
        rows.append((impl, "delivered at exit", f"{runs} processes", f"{got}/{runs}", f"{100 * got / runs:.0f} %"))

    # under 429 and under 503: count alerts in requests that were accepted
    makers: list[tuple[str, Callable[[], Behaviour]]] = [
        ("under 429 (5 per 2 s)", lambda: rate_limited(5, 2.0, ok_status=200)),
        ("under 503 every other", lambda: flaky(503, 2, ok_status=200)),
    ]
    for label, make in makers:
        variants = [(impl, n, ["--batch"]) for impl in IMPLS]
        # one POST per alert: paced to the limit instead of coalesced (40 alerts take ~16 s)
        variants.append(("tocsin", 40 if not args.quick else 15, []))
        for impl, count, batch in variants:
            behaviour: Behaviour = make()
            ok_titles: set[str] = set()

            def recording(request: Received, behaviour: Behaviour = behaviour,
                          ok_titles: set[str] = ok_titles) -> Reply:
                reply = behaviour(request)
                if reply.status < 300:
                    data = request.json()
                    ok_titles.update(str(a.get("title")) for a in data.get("alerts", [data]))
                return reply

            with Receiver(recording) as receiver:
                start = time.monotonic()
                client(impl, receiver.url_for("/hook"), count, *batch, "--flush-timeout", "120",
                       "--hold", "10" if impl == "naive" else "0")
                took = time.monotonic() - start
            name = impl if batch or impl != "tocsin" else "tocsin, batch off"
            early = f", {behaviour.early} early" if isinstance(behaviour, rate_limited) else ""
            rows.append((name, label, f"{count} alerts", f"{len(ok_titles)}/{count}", f"{took:.1f} s{early}"))

    # flood against a hanging endpoint
    for impl, count in (("naive", 3000), ("apprise", 3), ("tocsin", 20_000)):
        with Receiver(hanging(120)) as receiver:
            r = client(impl, receiver.url_for("/hook"), count, "--flush-timeout", "0.5", timeout=600)
        rows.append((impl, "flood, hanging endpoint", f"{count} alerts",
                     f"{r['threads']:.0f} threads, +{r['rss_mb']:.1f} MB", f"p99 {r['p99_us']:.0f} us"))

    print("network delivery: naive thread-per-alert (the seed), Apprise json://, tocsin webhook sink")
    print(table(["impl", "scenario", "load", "result", "detail"], rows))


if __name__ == "__main__":
    main()
