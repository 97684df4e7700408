"""Real Prometheus Alertmanager instances for the tests: started on free loopback ports with a
generated ``alertmanager.yml`` whose receiver is a loopback webhook server, killed at teardown.

Debian's ``prometheus-alertmanager`` package ships the binary (and ``amtool``); without it the
tests that need it are skipped, saying so.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tocsin.testing import Receiver, always

AM_BINARY = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
AMTOOL = shutil.which("amtool")
START_TIMEOUT = 30.0
"""Seconds an instance may take to answer /-/ready (generous: two cores shared by many)."""
PEER_TIMEOUT = "2s"
"""--cluster.peer-timeout: how long the second peer of a pair waits for the first to notify
(default 15 s), kept short so that the tests need not wait long to see a duplicate or none."""

CONFIG = """\
route:
  receiver: hook
  group_by: ['alertname']
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: {hook}
        send_resolved: true
"""


def free_port() -> int:
    """A loopback port free for TCP and UDP (the cluster's gossip uses both) at this moment."""
    while True:
        with socket.socket() as tcp, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            tcp.bind(("127.0.0.1", 0))
            port = int(tcp.getsockname()[1])
            try:
                udp.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


class Webhook:
    """The loopback webhook receiver Alertmanager notifies: every notification it got."""

    def __init__(self, receiver: Receiver) -> None:
        self.receiver = receiver
        self.url = receiver.url_for("/notify")

    def notifications(self) -> list[dict[str, Any]]:
        """Alertmanager's webhook payloads so far (version 4: status, alerts, ...)."""
        return [r.json() for r in list(self.receiver.requests)]

    def about(self, alertname: str, status: str | None = None) -> list[dict[str, Any]]:
        """The notifications of the group of ``alertname`` (the test config groups by it)."""
        return [n for n in self.notifications() if n["groupLabels"].get("alertname") == alertname
                and (status is None or n["status"] == status)]

    def wait_for(self, alertname: str, status: str | None = None, count: int = 1,
                 timeout: float = 30.0) -> list[dict[str, Any]]:
        """Wait (at most ``timeout`` s) for ``count`` notifications about ``alertname``."""
        deadline = time.monotonic() + timeout
        while len(found := self.about(alertname, status)) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return found


class Alertmanager:
    """One running Alertmanager: its base URL, its cluster address, its process."""

    def __init__(self, tmp: Path, name: str, hook: str, *, web_port: int | None = None,
                 cluster_port: int | None = None, peers: tuple[int, ...] = ()) -> None:
        assert AM_BINARY is not None
        self.name = name
        self.web_port = web_port or free_port()
        self.cluster_port = cluster_port
        self.url = f"http://127.0.0.1:{self.web_port}"
        self.dir = tmp / name
        (self.dir / "data").mkdir(parents=True, exist_ok=True)
        config = self.dir / "alertmanager.yml"
        config.write_text(CONFIG.format(hook=hook))
        self.args = [AM_BINARY, f"--config.file={config}", f"--storage.path={self.dir / 'data'}",
                     f"--web.listen-address=127.0.0.1:{self.web_port}", "--log.level=debug"]
        if cluster_port is None:
            self.args.append("--cluster.listen-address=")
        else:
            self.args += [f"--cluster.listen-address=127.0.0.1:{cluster_port}",
                          f"--cluster.advertise-address=127.0.0.1:{cluster_port}",
                          f"--cluster.peer-timeout={PEER_TIMEOUT}", "--cluster.gossip-interval=50ms",
                          "--cluster.pushpull-interval=1s", "--cluster.settle-timeout=5s"]
            self.args += [f"--cluster.peer=127.0.0.1:{p}" for p in peers]
        self.log = self.dir / "alertmanager.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Alertmanager:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        return self

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"alertmanager {self.name} exited: {self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as answer:  # noqa: S310  # loopback http
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"alertmanager {self.name} not ready within {timeout} s: {self.log_tail()}")

    def stop(self) -> None:
        """Kill it (SIGKILL: a peer that dies, not one that leaves the cluster politely)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def alerts(self) -> list[dict[str, Any]]:
        """``GET /api/v2/alerts``: the alerts this instance holds."""
        with urllib.request.urlopen(f"{self.url}/api/v2/alerts", timeout=5) as answer:  # noqa: S310  # loopback
            result: list[dict[str, Any]] = json.load(answer)
        return result

    def amtool(self, *args: str) -> str:
        """Run amtool against this instance and return its standard output."""
        if AMTOOL is None:
            pytest.skip("amtool is not installed (Debian: apt-get install prometheus-alertmanager)")
        run = subprocess.run([AMTOOL, f"--alertmanager.url={self.url}", *args], capture_output=True, text=True,
                             timeout=30, check=True)
        return run.stdout

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


@pytest.fixture(name="free_port")
def free_port_fixture() -> Callable[[], int]:
    """:func:`free_port`, for tests that start an instance later on a port chosen now."""
    return free_port


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    """The receiver Alertmanager's notifications go to."""
    with Receiver(always(200)) as receiver:
        yield Webhook(receiver)


@pytest.fixture
def start_alertmanager(tmp_path: Path, webhook: Webhook) -> Iterator[Callable[..., Alertmanager]]:
    """``start_alertmanager(name, web_port=None, cluster_port=None, peers=(), wait=True)``: one
    more instance notifying ``webhook``. Every instance is killed at teardown."""
    if AM_BINARY is None:
        pytest.skip("the Alertmanager binary is not installed (Debian: apt-get install prometheus-alertmanager)")
    started: list[Alertmanager] = []

    def start(name: str, *, wait: bool = True, **options: Any) -> Alertmanager:
        am = Alertmanager(tmp_path, name, webhook.url, **options)
        started.append(am)
        am.start()
        if wait:
            am.wait_ready()
        return am

    yield start
    for am in started:
        am.stop()


@pytest.fixture
def alertmanager(start_alertmanager: Callable[..., Alertmanager]) -> Alertmanager:
    """A single Alertmanager, clustering off."""
    return start_alertmanager("single")


@pytest.fixture
def alertmanager_pair(start_alertmanager: Callable[..., Alertmanager]) -> list[Alertmanager]:
    """Two Alertmanagers gossiping on loopback: an HA pair."""
    ports = free_port(), free_port()
    pair = [start_alertmanager(f"am{i}", cluster_port=ports[i], peers=(ports[1 - i],), wait=False) for i in (0, 1)]
    for am in pair:
        am.wait_ready()
    return pair
