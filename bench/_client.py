"""One client process of bench/delivery.py: emits alerts one way and reports what it saw.

    python bench/_client.py IMPL URL COUNT [--batch] [--hold SECONDS] [--flush-timeout S]
        [--threads N] [--flush S] [--config TOML] [--size BYTES] [--exit normal|os._exit]

IMPL is naive (the seed's design: a new thread per alert posting with urllib), apprise
(Apprise's json:// notifier) or tocsin (the webhook sink; with --config, the sinks of that
file, discovered as an application would). Prints one JSON line: caller latencies (p50/p99 in
microseconds), peak thread count, RSS growth in MB; with --flush, whether an explicit flush
completed and when (seconds since the first emit); for tocsin, the webhook sink's counters.
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


EMITTER: object = None


def tocsin_sender(url: str, batch: bool, flush_timeout: float, config: str | None = None,
                  body: str = "m") -> Callable[[int], object]:
    import structlog

    from tocsin import Config, Emitter, load_config
    from tocsin_sink_webhook import WebhookSink

    global EMITTER
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(open(os.devnull, "w")))  # noqa: SIM115 - for the process's life
    if config:
        emitter = Emitter(load_config(config))
    else:
        emitter = Emitter(Config(environ={}, flush_timeout=flush_timeout, spool=False,
                                 sinks={"webhook": {"url": url, "batch": batch}}),
                          sinks={"webhook": WebhookSink}, discover=False)
    EMITTER = emitter
    if len(body) > 16:  # a text of its own per alert, as real alerts have (not one shared string)
        return lambda i: emitter.emit("warning", f"alert {i}", f"{i:016d}{body[16:]}")
    return lambda i: emitter.emit("warning", f"alert {i}", body)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("impl", choices=["naive", "apprise", "tocsin"])
    parser.add_argument("url")
    parser.add_argument("count", type=int)
    parser.add_argument("--batch", action="store_true")
    parser.add_argument("--hold", type=float, default=0.0, help="seconds to stay alive after emitting")
    parser.add_argument("--flush-timeout", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=1, help="emit from this many threads")
    parser.add_argument("--flush", type=float, default=None, help="then flush explicitly, at most S seconds")
    parser.add_argument("--config", default=None, help="tocsin: a configuration file instead of the defaults")
    parser.add_argument("--size", type=int, default=1, help="bytes of each alert's message")
    parser.add_argument("--exit", default="normal", choices=["normal", "os._exit"])
    args = parser.parse_args()
    body = "m" * max(1, args.size)
    if args.impl == "naive":
        send = naive(args.url)
    elif args.impl == "apprise":
        send = apprise_sender(args.url)
    else:
        send = tocsin_sender(args.url, args.batch, args.flush_timeout, args.config, body)
    rss0 = rss_mb()
    peak = [threading.active_count()]
    latencies: list[float] = []
    lock = threading.Lock()
    started = time.monotonic()

    def emit_share(indexes: range) -> None:
        mine = []
        for i in indexes:
            t0 = time.perf_counter()
            send(i)
            mine.append(time.perf_counter() - t0)
            if i % 100 == 0:
                peak[0] = max(peak[0], threading.active_count())
        with lock:
            latencies.extend(mine)

    workers = [threading.Thread(target=emit_share, args=(range(k, args.count, args.threads),))
               for k in range(args.threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    emitted_at = time.monotonic()
    emitted_wall = time.time()
    peak_threads = max(peak[0], threading.active_count())
    rss_growth = rss_mb() - rss0
    result: dict[str, object] = {}
    if args.flush is not None and EMITTER is not None:
        result["flushed"] = EMITTER.flush(args.flush)  # type: ignore[attr-defined]  # the tocsin Emitter
        result["flush_done_s"] = time.monotonic() - started
    if EMITTER is not None:
        result["sink"] = EMITTER.stats()["sinks"].get("webhook", {})  # type: ignore[attr-defined]
    if args.hold:
        time.sleep(args.hold)
    latencies.sort()
    result.update({
        "p50_us": statistics.median(latencies) * 1e6,
        "p99_us": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1e6,
        "threads": peak_threads,
        "rss_mb": rss_growth,
        "emit_s": emitted_at - started,
        "emitted_wall": emitted_wall,
    })
    print(json.dumps(result, default=str), flush=True)
    if args.exit == "os._exit":
        os._exit(0)
    # exit now: tocsin's exit hook flushes; the naive sender's daemon threads die here


if __name__ == "__main__":
    main()
