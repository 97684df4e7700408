"""The sink against real loopback receivers: every peer, batching, fail-open, auth, status, CLI."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from structlog.testing import capture_logs

from tocsin import Config, Emitter
from tocsin.testing import Received, Receiver, Reply, always, hanging
from tocsin_sink_alertmanager import AlertmanagerSink
from tocsin_sink_file import FileSink


def emitter_for(environ: dict[str, str] | None = None, **table: Any) -> Emitter:
    config = Config(environ=environ or {}, sinks={"alertmanager": {"backoff_base": 0.05, **table}}, project="shop")
    return Emitter(config, sinks={"alertmanager": AlertmanagerSink}, discover=False)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def alerts_in(receiver: Receiver) -> list[dict[str, Any]]:
    return [a for r in receiver.requests for a in r.json()]


def test_posts_a_json_array_to_the_api_of_each_peer() -> None:
    with Receiver(always(200)) as one, Receiver(always(200)) as two:
        emitter = emitter_for(urls=[one.url, two.url + "/"], labels=["queue"])
        alert = emitter.emit("critical", "Queue stuck", "no progress for 10 min", {"queue": "mail", "depth": 12})
        assert emitter.flush(10)
        emitter.close(0)
    for receiver in (one, two):
        [request] = receiver.requests
        assert request.path == "/api/v2/alerts"
        assert request.headers["content-type"] == "application/json"
        [sent] = request.json()
        assert sent["labels"] == {"alertname": "Queue stuck", "severity": "critical", "host": alert.host,
                                  "project": "shop", "queue": "mail"}
        assert sent["annotations"]["description"] == "no progress for 10 min"
        assert json.loads(sent["annotations"]["context"]) == {"queue": "mail", "depth": 12}


def test_alerts_that_pile_up_go_in_one_post() -> None:
    first = threading.Event()

    def slow_first(request: Received) -> Reply:
        if not first.is_set():
            first.set()
            return Reply(200, {}, b"", delay=0.5)  # the rest queue up meanwhile
        return Reply(200)

    with Receiver(slow_first) as receiver:
        emitter = emitter_for(url=receiver.url)
        for i in range(30):
            emitter.emit("info", f"alert {i}", "m")
        assert emitter.flush(10)
        emitter.close(0)
    assert sorted(a["labels"]["alertname"] for a in alerts_in(receiver)) == sorted(f"alert {i}" for i in range(30))
    assert len(receiver.requests) < 30
    assert max(len(r.json()) for r in receiver.requests) > 1


def test_a_peer_that_hangs_or_is_down_delays_neither_the_caller_nor_the_others(tmp_path: Path) -> None:
    log = tmp_path / "alerts.log"
    with Receiver(hanging(30)) as stalled, Receiver(always(200)) as healthy:
        config = Config(environ={}, sinks={
            "alertmanager": {"urls": [stalled.url, f"http://127.0.0.1:{closed_port()}", healthy.url],
                             "read_timeout": 30, "backoff_base": 5},
            "file": {"path": str(log)},
        })
        emitter = Emitter(config, sinks={"alertmanager": AlertmanagerSink, "file": FileSink}, discover=False)
        try:
            for i in range(5):
                emitter.emit("critical", f"db down {i}", "m")
            # The local sink has every alert already, and the healthy peer gets them all.
            assert log.read_text().count("db down") == 5
            deadline = time.monotonic() + 10
            while peer_status(emitter, healthy.url)["delivered"] < 5 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert len(alerts_in(healthy)) == 5
            assert peer_status(emitter, healthy.url)["delivered"] == 5
            assert peer_status(emitter, stalled.url)["delivered"] == 0
            assert emitter.sink_status("alertmanager")["pending"] == 10  # waiting, not lost
            assert emitter.flush(0.2) is False
        finally:
            emitter.close(0)


def peer_status(emitter: Emitter, url: str) -> dict[str, Any]:
    peers = emitter.sink_status("alertmanager")["peers"]
    assert isinstance(peers, list)
    [peer] = [p for p in peers if p["target"] == url + "/"]
    return dict(peer)


def test_a_validation_error_is_rejected_with_alertmanagers_message_and_not_retried() -> None:
    body = json.dumps('invalid label set: invalid name "1bad"').encode()
    with Receiver(always(400, body, {"Content-Type": "application/json"})) as receiver, capture_logs() as logs:
        emitter = emitter_for(url=receiver.url)
        emitter.emit("warning", "t", "m")
        emitter.flush(10)
        status = emitter.sink_status("alertmanager")
        emitter.close(0)
    assert len(receiver.requests) == 1
    assert status["failed"] == 1
    assert 'invalid name "1bad"' in str(status["last_error"])
    assert any(e["event"] == "tocsin.delivery_rejected" for e in logs)


def test_a_server_error_is_retried() -> None:
    answers = iter([503, 200])
    with Receiver(lambda request: Reply(next(answers))) as receiver:
        emitter = emitter_for(url=receiver.url)
        emitter.emit("warning", "t", "m")
        assert emitter.flush(10)
        status = emitter.sink_status("alertmanager")
        emitter.close(0)
    assert len(receiver.requests) == 2
    assert status["delivered"] == 1


def test_bearer_token_from_the_environment_and_never_shown() -> None:
    token = "am-token-" + "Q" * 30
    with Receiver(always(401, f"bad token {token}".encode())) as receiver, capture_logs() as logs:
        emitter = emitter_for({"AM_TOKEN": token}, url=receiver.url, bearer_token="${AM_TOKEN}")
        emitter.emit("warning", "t", "m")
        emitter.flush(10)
        status = emitter.stats()
        emitter.close(0)
    assert receiver.requests[0].headers["authorization"] == f"Bearer {token}"
    assert token not in json.dumps(logs, default=str) + json.dumps(status, default=str)


def test_basic_auth() -> None:
    with Receiver(always(200)) as receiver:
        emitter = emitter_for({"AM_PASSWORD": "s3cret-pass"}, url=receiver.url,
                              basic_auth={"username": "tocsin", "password": "${AM_PASSWORD}"})
        emitter.emit("warning", "t", "m")
        assert emitter.flush(10)
        emitter.close(0)
    header = receiver.requests[0].headers["authorization"]
    assert base64.b64decode(header.removeprefix("Basic ")) == b"tocsin:s3cret-pass"


def test_resolve_after_sets_ends_at() -> None:
    with Receiver(always(200)) as receiver:
        emitter = emitter_for(url=receiver.url, resolve_after="30s")
        emitter.emit("warning", "t", "m")
        assert emitter.flush(10)
        emitter.close(0)
    [sent] = alerts_in(receiver)
    from datetime import datetime

    starts, ends = (datetime.fromisoformat(sent[k].replace("Z", "+00:00")) for k in ("startsAt", "endsAt"))
    assert (ends - starts).total_seconds() == 30


def test_bad_settings_are_reported() -> None:
    emitter = emitter_for(urls="http://one", url="ftp://host/secret-path-123456", labels=[1], resolve_after="soon",
                          bearer_token="x" * 10, basic_auth={"username": "u", "password": "p", "realm": "r"})
    problems = {p.key: p.message for p in emitter.config.problems}
    emitter.close(0)
    assert set(problems) == {"sinks.alertmanager.urls", "sinks.alertmanager.labels",
                             "sinks.alertmanager.resolve_after", "sinks.alertmanager.basic_auth"}
    messages = " ".join(str(p) for p in emitter.config.problems)
    assert "secret-path-123456" not in messages
    assert "ftp://host/***" in messages


def _cli(tmp_path: Path, *args: str, config: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "tocsin.toml").write_text(config)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOCSIN_", "ATOCORE_"))}
    env.update(HOME=str(tmp_path), XDG_STATE_HOME=str(tmp_path / "state"), TOCSIN_CONFIG=str(tmp_path / "tocsin.toml"))
    return subprocess.run([sys.executable, "-m", "tocsin", *args], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=60)


def test_tocsin_sinks_and_tocsin_test_show_each_peer(tmp_path: Path) -> None:
    down = f"http://127.0.0.1:{closed_port()}"
    with Receiver(always(200)) as up:
        config = (f'[tocsin]\nenable = ["alertmanager"]\n[sinks.alertmanager]\nurls = ["{up.url}", "{down}"]\n'
                  "connect_timeout = 2\n")
        listed = _cli(tmp_path, "sinks", config=config)
        tested = _cli(tmp_path, "test", "--json", "--timeout", "10", config=config)
    assert listed.returncode == 0, listed.stderr
    assert f"{up.url}/ (0 delivered" in listed.stdout
    assert f"{down}/ (0 delivered" in listed.stdout
    [check] = json.loads(tested.stdout)
    assert check["ok"] is False  # one peer is down: the operator hears of it
    assert down in check["detail"]
    assert len(up.requests) == 1  # the other peer got the test alert all the same


def test_without_any_url_it_is_not_configured() -> None:
    emitter = emitter_for()
    assert emitter.sink_status("alertmanager") == {"configured": False}
    emitter.close(0)


def test_with_every_peer_down_a_process_still_logs_locally_and_exits(tmp_path: Path) -> None:
    urls = [f"http://127.0.0.1:{closed_port()}", f"http://127.0.0.1:{closed_port()}"]
    config = (f'[tocsin]\nenable = ["alertmanager", "file"]\nflush_timeout = 1\n'
              f'[sinks.alertmanager]\nurls = {json.dumps(urls)}\n[sinks.file]\npath = "{tmp_path / "alerts.log"}"\n')
    (tmp_path / "tocsin.toml").write_text(config)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOCSIN_", "ATOCORE_"))}
    env.update(HOME=str(tmp_path), TOCSIN_CONFIG=str(tmp_path / "tocsin.toml"))
    script = "import tocsin\nfor i in range(20):\n    tocsin.emit_alert('critical', f'down {i}', 'm')\n"
    run = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "alerts.log").read_text().count("[CRITICAL] down ") == 20
    assert "tocsin.exit_flush_incomplete" in run.stderr + run.stdout  # the peers' alerts were still pending
