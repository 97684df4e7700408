"""Latency of the dashboard's JSON API over a real loopback server and a populated store.

    .venv/bin/python bench/dashboard_api.py [--alerts 10000] [--requests 200]

Prints p50 / p99 / max in milliseconds per route, over one keep-alive connection, with
/api/last (one indexed row per severity) as the baseline measured in the same run. The page
polls /api/history every 2 s and the other routes as often, so each should stay far below that.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import http.client
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _stats import pct, table

from tocsin import Config, Emitter
from tocsin._alert import make_alert
from tocsin_dashboard import Dashboard, make_server
from tocsin_sink_state import StateSink, StateStore

ROUTES = [
    "/api/last",
    "/api/history?limit=50",
    "/api/history?limit=50&offset=5000",
    "/api/history?severity=critical&since=1h",
    "/api/history?grep=replica",
    "/api/counts?since=24h&buckets=24",
    "/api/sinks",
]


def populate(path: Path, count: int) -> None:
    store = StateStore(path, history=count)
    now = dt.datetime.now(dt.timezone.utc)
    batch = []
    for i in range(count):
        severity = ("info", "warning", "critical")[i % 3]
        title = "replica lag" if i % 50 == 0 else f"job {i} finished"
        alert = make_alert(severity, title, "details " * 10, {"i": i, "queue": "ingest"})
        batch.append(dataclasses.replace(alert, timestamp=now - dt.timedelta(seconds=(count - i) * 8)))
    store.write("atocore", batch)
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "state.db"
        populate(path, args.alerts)
        config = Config(environ={}, sinks={"state": {"path": str(path)}})
        emitter = Emitter(config, sinks={"state": StateSink}, discover=False)
        server = make_server("127.0.0.1", 0, dashboard=Dashboard(config, emitter=emitter))
        server.start()
        conn = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=30)
        rows = []
        try:
            for route in ROUTES:
                samples = []
                for _ in range(args.requests):
                    start = time.perf_counter()
                    conn.request("GET", route)
                    response = conn.getresponse()
                    response.read()
                    samples.append(time.perf_counter() - start)
                    assert response.status == 200, (route, response.status)
                rows.append((route, pct(samples, 50) * 1e3, pct(samples, 99) * 1e3, max(samples) * 1e3))
        finally:
            conn.close()
            server.close()
            emitter.close(1)
    print(f"{args.alerts} alerts in the store, {args.requests} requests per route (ms)")
    print(table(["route", "p50", "p99", "max"], rows))


if __name__ == "__main__":
    main()
