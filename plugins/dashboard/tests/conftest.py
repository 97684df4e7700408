"""A real state store, a real dashboard server on an ephemeral loopback port, a real HTTP client."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import urllib.parse
from collections.abc import Callable, Iterator
from http import client as httpclient
from pathlib import Path
from typing import Any

import pytest

from tocsin import Config, Emitter, SinkSettings
from tocsin._alert import make_alert
from tocsin_dashboard import Dashboard, DashboardServer, make_server
from tocsin_sink_state import StateSink, StateStore

SLACK_URL = "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"
PRIVATE_URL = "https://alerts.internal.example/hook/s3cr3t-path-token"


class BrokenSink:
    """A sink whose constructor fails with a secret in its error, as a misconfigured one might."""

    def __init__(self, settings: SinkSettings) -> None:
        raise RuntimeError(f"cannot reach {SLACK_URL} nor {PRIVATE_URL}")


def record(path: Path, *alerts: tuple[str, str, str, float], project: str = "atocore") -> None:
    """Write alerts (severity, title, message, seconds ago) to the store at ``path``."""
    store = StateStore(path)
    now = dt.datetime.now(dt.timezone.utc)  # not at import: a full run reaches this minutes later
    store.write(project, [dataclasses.replace(make_alert(sev, title, msg, {"i": i}),
                                              timestamp=now - dt.timedelta(seconds=ago))
                          for i, (sev, title, msg, ago) in enumerate(alerts)])
    store.close()


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "state.db"
    record(path,
           ("info", "deploy started", "v1.2", 7000),
           ("warning", "disk at 91%", "on /srv", 3000),
           ("critical", "Backup FAILED", "exit 3\nstderr: disk full", 600),
           ("info", "cron finished", "ok", 30))
    return path


@dataclasses.dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def request(url: str, path: str = "/", *, method: str = "GET", headers: dict[str, str] | None = None,
            query: dict[str, str] | None = None, body: bytes | None = None) -> Answer:
    """One request on a fresh connection; the answer whatever its status."""
    parts = urllib.parse.urlsplit(url)
    if query:
        path += "?" + urllib.parse.urlencode(query)
    conn = httpclient.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        conn.close()


Serve = Callable[..., DashboardServer]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    """Start a dashboard on 127.0.0.1:0 over ``store_path``; stopped after the test."""
    servers: list[DashboardServer] = []

    def start(store_path: Path, *, token: str | None = None, host: str = "127.0.0.1",
              sinks: dict[str, object] | None = None, project: str = "atocore") -> DashboardServer:
        config = Config(environ={}, project=project, sinks={"state": {"path": str(store_path)}})
        emitter = Emitter(config, sinks=sinks if sinks is not None else {"state": StateSink}, discover=False)
        dashboard = Dashboard(config, emitter=emitter)
        server = make_server(host, 0, token=token, dashboard=dashboard)
        servers.append(server)
        server.emitter_to_close = emitter  # type: ignore[attr-defined]  # closed below with the server
        server.start()
        return server

    yield start
    for server in servers:
        server.close()
        server.emitter_to_close.close(1)  # type: ignore[attr-defined]  # set above


@pytest.fixture
def http() -> Callable[..., Answer]:
    """``request(url, path, method=, headers=, query=, body=)``."""
    return request


@pytest.fixture
def write_alerts() -> Callable[..., None]:
    """``record(path, (severity, title, message, seconds_ago), ...)``."""
    return record


@pytest.fixture
def broken_sink() -> type[BrokenSink]:
    """A sink class whose constructor fails with secrets in its message (SLACK_URL, PRIVATE_URL)."""
    return BrokenSink
