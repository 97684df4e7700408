"""One client process of bench/delivery.py: emits alerts one way and reports what it saw.

    python bench/_client.py IMPL URL COUNT [--batch] [--hold SECONDS] [--flush-timeout S]

IMPL is naive (the seed's design: a new thread per alert posting with urllib), apprise
(Apprise's json:// notifier) or tocsin (the webhook sink). Prints one JSON line: caller
latencies (p50/p99 in microseconds), peak thread count, RSS growth in MB.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import threading
import time
import urllib.request
from collections.abc import Callable


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def naive(url: str) -> Callable[[int], object]:
    def send(i: int) -> None:
        body = {"severity": "warning", "title": f"alert {i}", "message": "m", "context": {}, "timestamp": "t"}

        def fire() -> None:
            try:
                req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",  # noqa: S310 - loopback only
                                             headers={"Content-Type": "application/json"})
                urllib.request.urlopen(req, timeout=8)  # noqa: S310 - loopback bench receiver
            except Exception:  # noqa: S110 - the seed swallowed it too (it logged a warning)
                pass

        threading.Thread(target=fire, daemon=True).start()

    return send


def apprise_sender(url: str) -> Callable[[int], object]:
    import apprise

    notifier = apprise.Apprise()
    notifier.add(url.replace("http://", "json://"))
    return lambda i: notifier.notify(title=f"alert {i}", body="m")


def tocsin_sender(url: str, batch: bool, flush_timeout: float) -> Callable[[int], object]:
    import structlog

    from tocsin import Config, Emitter
    from tocsin_sink_webhook import WebhookSink

    structlog.configure(logger_factory=structlog.PrintLoggerFactory(open(os.devnull, "w")))  # noqa: SIM115 - for the process's life
    emitter = Emitter(Config(environ={}, flush_timeout=flush_timeout,
                             sinks={"webhook": {"url": url, "batch": batch}}),
                      sinks={"webhook": WebhookSink}, discover=False)
    return lambda i: emitter.emit("warning", f"alert {i}", "m")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("impl", choices=["naive", "apprise", "tocsin"])
    parser.add_argument("url")
    parser.add_argument("count", type=int)
    parser.add_argument("--batch", action="store_true")
    parser.add_argument("--hold", type=float, default=0.0, help="seconds to stay alive after emitting")
    parser.add_argument("--flush-timeout", type=float, default=10.0)
    args = parser.parse_args()
    if args.impl == "naive":
        send = naive(args.url)
    elif args.impl == "apprise":
        send = apprise_sender(args.url)
    else:
        send = tocsin_sender(args.url, args.batch, args.flush_timeout)
    rss0 = rss_mb()
    peak_threads = threading.active_count()
    latencies = []
    for i in range(args.count):
        t0 = time.perf_counter()
        send(i)
        latencies.append(time.perf_counter() - t0)
        if i % 100 == 0:
            peak_threads = max(peak_threads, threading.active_count())
    peak_threads = max(peak_threads, threading.active_count())
    rss_growth = rss_mb() - rss0
    if args.hold:
        time.sleep(args.hold)
    latencies.sort()
    print(json.dumps({
        "p50_us": statistics.median(latencies) * 1e6,
        "p99_us": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1e6,
        "threads": peak_threads,
        "rss_mb": rss_growth,
    }), flush=True)
    # exit now: tocsin's exit hook flushes; the naive sender's daemon threads die here


if __name__ == "__main__":
    main()
