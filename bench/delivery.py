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

The acceptance table of issue 8 (`--only acceptance`): tocsin in its DEFAULT configuration
(`batch = false`, one POST per alert) beside the seed's thread-per-alert sender, in one run:
  2000 alerts from 4 threads to a 50 ms endpoint, explicit flush(60); 503 on every other
  request; a 20 s outage; 429 with Retry-After: 0 for 8 s; a 1-byte-per-second body; 15 000
  alerts of 100 KB to a hanging endpoint; exit with a hanging endpoint then `tocsin spool
  deliver`; `durable = true` then os._exit, and what durable costs the caller.

    .venv/bin/python bench/delivery.py --only acceptance     # ~3 min
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tocsin.testing import Received, Receiver, Reply, always, flaky, hanging, rate_limited

Behaviour = Callable[[Received], Reply]

sys.path.insert(0, str(Path(__file__).parent))
from _stats import table  # noqa: E402 - the sibling helper, importable once the path is set

CLIENT = str(Path(__file__).parent / "_client.py")
IMPLS = ("naive", "apprise", "tocsin")


def client(impl: str, url: str, count: int, *extra: str, timeout: float = 300) -> dict[str, Any]:
    out = subprocess.run([sys.executable, CLIENT, impl, url, str(count), *extra], capture_output=True, text=True,
                         timeout=timeout)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        raise RuntimeError(f"{impl} client failed: {out.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
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
    parser.add_argument("--only", choices=["engine", "acceptance"], help="run one table only")
    args = parser.parse_args()
    if args.only != "acceptance":
        engine(args.quick)
    if args.only != "engine":
        acceptance()


def engine(quick: bool) -> None:
    try:
        import apprise  # noqa: F401 - only to know whether the baseline can run
        impls: tuple[str, ...] = IMPLS
    except ImportError:
        print("(Apprise not installed: pip install -r bench/requirements.txt for its rows)")
        impls = ("naive", "tocsin")
    n = 60 if quick else 200
    rows = []

    # latency, 50 ms endpoint
    for impl in impls:
        with Receiver(hanging(0.05)) as receiver:
            count = 20 if impl == "apprise" else n  # Apprise blocks 50 ms per call
            r = client(impl, receiver.url_for("/hook"), count, "--flush-timeout", "1", "--batch")
        rows.append((impl, "latency 50 ms endpoint", f"{count} alerts", f"p50 {r['p50_us']:.0f} us",
                     f"p99 {r['p99_us']:.0f} us"))

    # delivered at exit
    runs = 6 if quick else 20
    for impl in impls:
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
        variants = [(impl, n, ["--batch"]) for impl in impls]
        # one POST per alert: paced to the limit instead of coalesced (40 alerts take ~16 s)
        variants.append(("tocsin", 40 if not quick else 15, []))
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
        if impl not in impls:
            continue
        with Receiver(hanging(120)) as receiver:
            r = client(impl, receiver.url_for("/hook"), count, "--flush-timeout", "0.5", timeout=600)
        rows.append((impl, "flood, hanging endpoint", f"{count} alerts",
                     f"{r['threads']:.0f} threads, +{r['rss_mb']:.1f} MB", f"p99 {r['p99_us']:.0f} us"))

    print("network delivery: naive thread-per-alert (the seed), Apprise json://, tocsin webhook sink")
    print(table(["impl", "scenario", "load", "result", "detail"], rows))


# -- issue 8: the default configuration, beside the seed ---------------------------------


class Accepted:
    """A behaviour wrapper recording the ids of the alerts in requests that got a 2xx."""

    def __init__(self, inner: Behaviour) -> None:
        self.inner = inner
        self.ids: list[str] = []
        self.times: list[float] = []
        self.lock = threading.Lock()

    def __call__(self, request: Received) -> Reply:
        reply = self.inner(request)
        if reply.status < 300:
            try:
                data = request.json()
            except ValueError:
                data = {}
            with self.lock:
                self.ids.append(str(data.get("id") or data.get("title")))
                self.times.append(time.monotonic())
        return reply

    @property
    def unique(self) -> int:
        return len(set(self.ids))


def write_config(directory: Path, url: str, main: dict[str, object] | None = None, **table: object) -> str:
    """A configuration file: the webhook sink only, the spool in ``directory``."""
    lines = ["[tocsin]", 'enable = ["webhook"]']
    main = {"spool": str(directory / "spool.db"), **(main or {})}
    lines += [f"{k} = {json.dumps(v)}" for k, v in main.items()]
    lines += ["[sinks.webhook]", f'url = "{url}"']
    lines += [f"{k} = {json.dumps(v)}" for k, v in table.items()]
    path = directory / "tocsin.toml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def spool_deliver(config: str, timeout: float = 60) -> tuple[int, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOCSIN_", "ATOCORE_"))}
    start = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "tocsin", "--quiet", "spool", "deliver", "--timeout", str(timeout)],
                         env={**env, "TOCSIN_CONFIG": config}, capture_output=True, text=True, timeout=timeout + 30)
    return out.returncode, time.monotonic() - start


class DripServer:
    """Answers its first request 200 and then the body one byte a second; the rest 204 at once."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.stop = threading.Event()
        self.ok = 0
        self.first = True
        self.lock = threading.Lock()
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            data = b""
            while True:
                try:
                    while b"\r\n\r\n" not in data:
                        chunk = conn.recv(65536)
                        if not chunk:
                            return
                        data += chunk
                    head, _, rest = data.partition(b"\r\n\r\n")
                    length = int(next((ln.split(b":")[1] for ln in head.split(b"\r\n")
                                       if ln.lower().startswith(b"content-length")), b"0"))
                    while len(rest) < length:
                        rest += conn.recv(65536)
                    data = rest[length:]
                    with self.lock:
                        drip, self.first = self.first, False
                    if drip:
                        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 60\r\n\r\n")
                        for _ in range(60):
                            if self.stop.wait(1.0):
                                return
                            conn.sendall(b"x")
                        return
                    with self.lock:
                        self.ok += 1
                    conn.sendall(b"HTTP/1.1 204 No Content\r\n\r\n")
                except OSError:
                    return

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


def outage(seconds: float, status: int = 503, headers: dict[str, str] | None = None) -> Behaviour:
    start: list[float] = []

    def respond(request: Received) -> Reply:
        if not start:
            start.append(time.monotonic())
        if time.monotonic() - start[0] < seconds:
            return Reply(status, headers or {})
        return Reply(204)

    return respond


def acceptance() -> None:
    rows: list[tuple[object, ...]] = []
    tmp = Path(tempfile.mkdtemp(prefix="tocsin-bench-"))

    # 1. 2000 alerts from 4 threads to a 50 ms endpoint, batch = false
    for impl in ("naive", "tocsin"):
        accepted = Accepted(hanging(0.05))
        with Receiver(accepted) as receiver:
            start = time.monotonic()
            extra = ["--hold", "0"] if impl == "naive" else ["--flush", "60"]
            r = client(impl, receiver.url_for("/hook"), 2000, "--threads", "4", *extra, timeout=300)
            took = r.get("flush_done_s", time.monotonic() - start)
            time.sleep(0.5)
        rows.append((impl, "50 ms endpoint, 4 threads, exit after emit" if impl == "naive" else
                     "50 ms endpoint, 4 threads, flush(60)", "2000", f"{accepted.unique}/2000",
                     f"{float(took):.1f} s; caller p50 {r['p50_us']:.0f} us p99 {r['p99_us']:.0f} us"))

    # 2. 503 on every other request
    for impl in ("naive", "tocsin"):
        accepted = Accepted(flaky(503, 2, ok_status=200))
        with Receiver(accepted) as receiver:
            extra = ["--hold", "3"] if impl == "naive" else ["--flush", "60"]
            client(impl, receiver.url_for("/hook"), 200, *extra)
        rows.append((impl, "503 every other request", "200", f"{accepted.unique}/200", ""))

    # 3. an outage of 20 s: every request 503, then healthy
    accepted = Accepted(outage(20.0))
    with Receiver(accepted) as receiver:
        r = client("tocsin", receiver.url_for("/hook"), 50, "--flush", "60")
        posts = len(receiver.requests)
    rows.append(("tocsin", "20 s outage (all 503), flush(60)", "50", f"{accepted.unique}/50",
                 f"all in at {float(r['flush_done_s']):.1f} s, {posts} requests"))

    # 4. 429 with Retry-After: 0 for 8 s
    accepted = Accepted(outage(8.0, 429, {"Retry-After": "0"}))
    with Receiver(accepted) as receiver:
        start = time.monotonic()
        r = client("tocsin", receiver.url_for("/hook"), 50, "--flush", "60")
        first = receiver.requests[0].at if receiver.requests else start
        during = sum(1 for q in receiver.requests if q.at - first < 8.0)
    rows.append(("tocsin", "429 Retry-After: 0 for 8 s", "50", f"{accepted.unique}/50",
                 f"{during} requests in the 8 s; all in at {float(r['flush_done_s']):.1f} s"))

    # 5. a body sent one byte a second on the first request
    drip = DripServer()
    try:
        r = client("tocsin", drip.url, 20, "--flush", "60")
    finally:
        drip.close()
    rows.append(("tocsin", "first answer's body at 1 byte/s", "20", f"{drip.ok}/20",
                 f"all in at {float(r['flush_done_s']):.1f} s (request deadline 15 s)"))

    # 6. 15 000 alerts of 100 KB to a hanging endpoint
    with Receiver(hanging(120)) as receiver:
        config = write_config(tmp, receiver.url_for("/flood"), {"flush_timeout": 0.5, "spool": False})
        r = client("tocsin", receiver.url_for("/flood"), 15_000, "--size", "100000", "--config", config,
                   timeout=600)
    sink = r["sink"]
    rows.append(("tocsin", "15 000 x 100 KB, hanging endpoint", "15000", f"+{r['rss_mb']:.0f} MB RSS",
                 f"dropped {sink['dropped']} (counted), {r['threads']:.0f} threads"))

    # 7. a hanging endpoint at exit, then `tocsin spool deliver` once it is healthy
    for impl in ("naive", "tocsin"):
        accepted = Accepted(hanging(60))
        with Receiver(accepted) as receiver:
            url = receiver.url_for("/exit")
            config = write_config(tmp, url, {"flush_timeout": 10})
            with contextlib.suppress(FileNotFoundError):
                (tmp / "spool.db").unlink()
            r = client(impl, url, 30, *(["--config", config] if impl == "tocsin" else []))
            exit_s = time.time() - float(r["emitted_wall"])
            receiver.behaviour = Accepted(always(204))
            if impl == "tocsin":
                status, took = spool_deliver(config)
                got = receiver.behaviour.unique
                detail = f"exit {exit_s:.2f} s after the last emit; spool deliver: {got}/30 (exit {status})"
            else:
                time.sleep(1)
                got = 0
                detail = f"exit {exit_s:.2f} s after the last emit; nothing kept"
        rows.append((impl, "hanging endpoint at exit", "30", f"{got}/30 later", detail))

    # 8. durable = true, then os._exit(0); and what durable costs the caller
    with Receiver(hanging(60)) as receiver:
        url = receiver.url_for("/durable")
        config = write_config(tmp, url, durable=True)
        with contextlib.suppress(FileNotFoundError):
            (tmp / "spool.db").unlink()
        client("tocsin", url, 50, "--config", config, "--exit", "os._exit")
        receiver.behaviour = accepted = Accepted(always(204))
        status, _ = spool_deliver(config)
    rows.append(("tocsin", "durable = true, 50 emits, os._exit(0)", "50", f"{accepted.unique}/50 by spool deliver",
                 f"exit {status}"))
    costs = []
    for durable in (False, True):
        with Receiver(hanging(0.05)) as receiver:
            config = write_config(tmp, receiver.url_for("/cost"), durable=durable)
            with contextlib.suppress(FileNotFoundError):
                (tmp / "spool.db").unlink()
            r = client("tocsin", receiver.url_for("/cost"), 2000, "--config", config, "--flush", "60")
        costs.append((durable, r["p50_us"], r["p99_us"]))
    for durable, p50, p99 in costs:
        rows.append(("tocsin", f"caller cost, durable = {str(durable).lower()}", "2000", f"p50 {p50:.0f} us",
                     f"p99 {p99:.0f} us"))

    print("issue 8 acceptance: default configuration (batch = false), the seed's sender beside tocsin")
    print(table(["impl", "scenario", "alerts", "result", "detail"], rows))


if __name__ == "__main__":
    main()
