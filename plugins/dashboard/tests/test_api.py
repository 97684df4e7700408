"""The JSON API and the page, against a real server on an ephemeral loopback port."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tocsin import register_secret
from tocsin_dashboard import DEFAULT_PORT, InsecureBindError, is_loopback, make_server
from tocsin_sink_state import StateSink

Http = Callable[..., Any]


def test_last_per_severity(store: Path, serve: Any, http: Http) -> None:
    server = serve(store)
    answer = http(server.url, "/api/last")
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("application/json")
    last = answer.json()["last"]
    assert {k: v["title"] for k, v in last.items()} == {
        "info": "cron finished", "warning": "disk at 91%", "critical": "Backup FAILED"}


def test_history_newest_first_filtered_and_paged(store: Path, serve: Any, http: Http) -> None:
    server = serve(store)
    page = http(server.url, "/api/history").json()
    assert page["total"] == 4
    assert [e["title"] for e in page["entries"]] == ["cron finished", "Backup FAILED", "disk at 91%", "deploy started"]
    entry = page["entries"][1]
    assert set(entry) >= {"id", "severity", "status", "title", "message", "context", "timestamp", "host"}
    assert entry["status"] == "firing"
    titles = lambda **q: [e["title"] for e in http(server.url, "/api/history", query=q).json()["entries"]]  # noqa: E731 - a local shorthand
    assert titles(severity="critical") == ["Backup FAILED"]
    assert titles(severity="info,warning") == ["cron finished", "disk at 91%", "deploy started"]
    assert titles(grep="DISK") == ["Backup FAILED", "disk at 91%"]
    assert titles(since="1h") == ["cron finished", "Backup FAILED", "disk at 91%"]
    assert titles(limit="2", offset="2") == ["disk at 91%", "deploy started"]
    assert http(server.url, "/api/history", query={"limit": "1", "grep": "disk"}).json()["total"] == 2


def test_counts_per_severity(store: Path, serve: Any, http: Http) -> None:
    server = serve(store)
    counts = http(server.url, "/api/counts", query={"since": "3h", "buckets": "3"}).json()
    # one-hour buckets: 7000 s ago falls in the second, 3000, 600 and 30 s ago in the third
    assert counts["series"] == {"critical": [0, 0, 1], "warning": [0, 0, 1], "info": [0, 1, 1]}


@pytest.mark.parametrize(("path", "query", "message"), [
    ("/api/history", {"since": "nonsense"}, "since: 'nonsense' is neither a duration"),
    ("/api/history", {"limit": "-1"}, "limit: must be between 1 and 500, got -1"),
    ("/api/history", {"limit": "lots"}, "limit: expected a whole number, got 'lots'"),
    ("/api/history", {"limit": "501"}, "limit: must be between 1 and 500, got 501"),
    ("/api/history", {"offset": "-1"}, "offset: must be between 0"),
    ("/api/history", {"severity": "loud"}, "severity: 'loud' is not one of info, warning, critical"),
    ("/api/history", {"colour": "red"}, "unknown parameter colour; /api/history takes grep, limit, offset"),
    ("/api/counts", {"buckets": "0"}, "buckets: must be between 1 and 500, got 0"),
    ("/api/counts", {"since": "yesterday-ish"}, "since: 'yesterday-ish' is neither"),
    ("/api/last", {"limit": "3"}, "unknown parameter limit; /api/last takes none"),
])
def test_bad_parameters_are_a_400_with_a_clear_message(
    store: Path, serve: Any, http: Http, path: str, query: dict[str, str], message: str
) -> None:
    answer = http(serve(store).url, path, query=query)
    assert answer.status == 400
    assert answer.json()["error"].startswith(message)


def test_a_repeated_parameter_is_a_400(store: Path, serve: Any, http: Http) -> None:
    answer = http(serve(store).url, "/api/history?limit=1&limit=2")
    assert answer.status == 400
    assert "limit given more than once" in answer.json()["error"]


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "BREW"])
@pytest.mark.parametrize("path", ["/", "/api/history", "/api/sinks"])
def test_everything_but_get_is_a_405_with_allow(store: Path, serve: Any, http: Http, method: str, path: str) -> None:
    answer = http(serve(store).url, path, method=method, body=b"{}" if method in ("POST", "PUT", "PATCH") else None)
    assert answer.status == 405
    assert answer.headers["allow"] == "GET"
    if method != "HEAD":
        assert "read-only" in answer.json()["error"]


def test_unknown_path_is_a_json_404(store: Path, serve: Any, http: Http) -> None:
    answer = http(serve(store).url, "/etc/passwd")
    assert answer.status == 404
    assert "/api/history" in answer.json()["api"]


def test_missing_store_is_a_clear_503_and_is_not_created(tmp_path: Path, serve: Any, http: Http) -> None:
    missing = tmp_path / "none" / "state.db"
    server = serve(missing, sinks={})
    for path in ("/api/last", "/api/history", "/api/counts"):
        answer = http(server.url, path)
        assert answer.status == 503
        assert answer.json()["error"].startswith("no state store at ")
        assert b"Traceback" not in answer.body
    assert http(server.url, "/api/sinks").status == 200  # sink health needs no store
    assert not missing.parent.exists()


def test_corrupt_store_is_a_clear_503(tmp_path: Path, serve: Any, http: Http) -> None:
    broken = tmp_path / "state.db"
    broken.write_bytes(b"SQLite format 3\x00" + b"\x13" * 8000)
    server = serve(broken, sinks={})
    answer = http(server.url, "/api/history")
    assert answer.status == 503
    assert "state store" in answer.json()["error"]
    assert b"Traceback" not in answer.body


def test_sinks_health_loaded_failed_and_no_secret(store: Path, serve: Any, http: Http, broken_sink: type) -> None:
    server = serve(store, sinks={"state": StateSink, "broken": broken_sink})
    answer = http(server.url, "/api/sinks")
    rows = {row["name"]: row for row in answer.json()["sinks"]}
    assert rows["state"]["state"] == "loaded"
    assert rows["state"]["pending"] == 0
    assert rows["state"]["dropped"] == 0
    assert rows["broken"]["state"] == "failed"
    assert rows["broken"]["error"].startswith("RuntimeError: cannot reach https://hooks.slack.com/")
    text = answer.body.decode()
    assert "XXXXXXXXXXXXXXXXXXXXXXXX" not in text
    assert "s3cr3t-path-token" not in text
    assert "alerts.internal.example" in text  # the host is kept: the operator must know which


def test_registered_secrets_never_leave_in_any_answer(tmp_path: Path, serve: Any, http: Http,
                                                      write_alerts: Any) -> None:
    secret = "tok-9f8e7d6c5b4a39281706"
    register_secret(secret)
    path = tmp_path / "state.db"
    write_alerts(path, ("critical", f"leaked {secret} in a title", f"and {secret} here", 1))
    server = serve(path)
    for api in ("/api/last", "/api/history", "/api/sinks"):
        assert secret.encode() not in http(server.url, api).body


def test_the_page_is_self_contained_and_locked_down(store: Path, serve: Any, http: Http) -> None:
    answer = http(serve(store).url, "/")
    assert answer.status == 200
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    page = answer.body.decode()
    assert not re.search(r"(src|href)=\"https?://", page), "the page must load nothing from the internet"
    csp = answer.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "script-src 'sha256-" in csp
    assert "unsafe-inline" not in csp
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_token_is_required_on_every_request(store: Path, serve: Any, http: Http) -> None:
    token = "correct-horse-battery-staple"
    server = serve(store, token=token)
    for path in ("/", "/api/last", "/api/history", "/api/sinks", "/nope"):
        denied = http(server.url, path)
        assert denied.status == 401, path
        assert denied.headers["www-authenticate"].startswith("Bearer")
        assert http(server.url, path, headers={"Authorization": "Bearer wrong"}).status == 401
        assert http(server.url, path, query={"token": token[:-1]}).status == 401
    assert http(server.url, "/api/history", headers={"Authorization": f"Bearer {token}"}).status == 200
    assert http(server.url, "/", query={"token": token}).status == 200
    assert http(server.url, "/api/history", query={"token": token, "limit": "1"}).status == 200
    # a write is refused after the token check, not before: no probing without it
    assert http(server.url, "/api/history", method="POST").status == 401
    assert http(server.url, "/api/history", method="POST", headers={"Authorization": f"Bearer {token}"}).status == 405
    assert token.encode() not in http(server.url, "/api/sinks", query={"token": token}).body


def test_without_a_token_only_loopback_host_names_are_answered(store: Path, serve: Any, http: Http) -> None:
    server = serve(store)
    assert http(server.url, "/api/last", headers={"Host": "evil.example:80"}).status == 403
    assert http(server.url, "/api/last", headers={"Host": f"localhost:{server.server_port}"}).status == 200


def test_non_loopback_needs_a_token() -> None:
    with pytest.raises(InsecureBindError, match="without --token"):
        make_server("0.0.0.0", 0)
    assert is_loopback("127.0.0.1")
    assert is_loopback("::1")
    assert is_loopback("localhost")
    assert not is_loopback("0.0.0.0")
    assert not is_loopback("example.com")
    assert DEFAULT_PORT == 8765


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(["since", "limit", "offset", "severity", "grep", "x"]), value=st.text(max_size=50))
def test_hostile_parameters_never_break_the_server(store: Path, serve: Any, http: Http, key: str, value: str) -> None:
    if not hasattr(test_hostile_parameters_never_break_the_server, "server"):
        test_hostile_parameters_never_break_the_server.server = serve(store)  # type: ignore[attr-defined]  # one per test
    server = test_hostile_parameters_never_break_the_server.server  # type: ignore[attr-defined]  # set above
    answer = http(server.url, "/api/history", query={key: value})
    assert answer.status in (200, 400)
    assert "error" in answer.json() if answer.status == 400 else "entries" in answer.json()


# -- the command -------------------------------------------------------------------------

def test_serve_refuses_a_public_address_without_a_token(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "tocsin", "serve", "--host", "0.0.0.0", "--port", "0"],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path, check=False,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert done.returncode == 2
    assert "refusing to serve on '0.0.0.0' without --token" in done.stderr
    assert "Traceback" not in done.stderr


def test_serve_runs_answers_and_says_where(tmp_path: Path, store: Path, http: Http) -> None:
    config = tmp_path / "tocsin.toml"
    config.write_text(f'[sinks.state]\npath = "{store}"\n')
    proc = subprocess.Popen([sys.executable, "-m", "tocsin", "--config", str(config), "serve", "--port", "0",
                             "--token", "t0ken-for-test"],
                            stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=tmp_path,
                            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        url = re.search(r"http://\S+/", line)
        assert url, line
        assert "token is required" in proc.stderr.readline()
        assert http(url.group(), "/api/last").status == 401
        answer = http(url.group(), "/api/last", headers={"Authorization": "Bearer t0ken-for-test"})
        assert answer.json()["last"]["critical"]["title"] == "Backup FAILED"
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err  # SIGTERM stops it cleanly
    assert "t0ken-for-test" not in out + err + line


def test_a_bug_is_a_json_500_without_a_traceback(store: Path, http: Http) -> None:
    from tocsin import Config
    from tocsin_dashboard import Dashboard

    class Buggy(Dashboard):
        def sinks(self) -> dict[str, Any]:
            raise KeyError("secret-looking detail")

    server = make_server("127.0.0.1", 0, dashboard=Buggy(Config(environ={}, sinks={"state": {"path": str(store)}})))
    server.start()
    try:
        answer = http(server.url, "/api/sinks")
    finally:
        server.close()
    assert answer.status == 500
    assert answer.json() == {"error": "internal error (KeyError); see the server's log"}


def test_connections_beyond_the_limit_are_closed_and_slots_come_back(store: Path, http: Http) -> None:
    # Idle clients hold a thread each (up to the handler's 30 s timeout): past the limit a
    # connection is closed at once instead of starting one more thread.
    import socket
    import time

    from tocsin import Config, Emitter
    from tocsin_dashboard import Dashboard, DashboardServer

    config = Config(environ={}, sinks={"state": {"path": str(store)}})
    emitter = Emitter(config, sinks={"state": StateSink}, discover=False)
    server = DashboardServer(("127.0.0.1", 0), Dashboard(config, emitter=emitter), max_connections=2)
    server.start()
    address = ("127.0.0.1", int(server.server_address[1]))
    idle = [socket.create_connection(address, timeout=10) for _ in range(2)]
    try:
        extra = socket.create_connection(address, timeout=10)
        try:
            extra.sendall(b"GET /api/last HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert extra.recv(1024) == b""  # closed without an answer
        finally:
            extra.close()
    finally:
        for sock in idle:
            sock.close()
    try:
        status = 0
        for _ in range(250):  # the idle connections' threads see EOF and give their slots back
            try:
                status = http(server.url, "/api/last").status
            except OSError:  # refused while the slots are still taken
                time.sleep(0.02)
                continue
            break
        assert status == 200
    finally:
        server.close()
        emitter.close(1)
