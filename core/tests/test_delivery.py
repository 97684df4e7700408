"""The delivery engine against real HTTP receivers on 127.0.0.1."""

from __future__ import annotations

import http.server
import json
import shutil
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

import tocsin
from tocsin import Alert, Config, Emitter
from tocsin.delivery import Message, NetworkSink, Response
from tocsin.delivery._retry import RetryPolicy, pacing_delay, rate_limit_delay
from tocsin.testing import Receiver, Reply, always, flaky, hanging, rate_limited


class JsonSink(NetworkSink):
    """The smallest network sink: one JSON POST per alert, or all in one with batch."""

    def configure(self, settings: tocsin.SinkSettings) -> None:
        self.batch = settings.get_bool("batch")

    def render(self, alerts: list[Alert]) -> list[Message]:
        if self.batch:
            return [Message(json.dumps([a.title for a in alerts]).encode(), count=len(alerts))]
        return [Message(json.dumps({"title": a.title}).encode(), count=1) for a in alerts]


Make = Callable[..., Emitter]


@pytest.fixture
def make() -> Iterator[Make]:
    made: list[Emitter] = []

    def build(url: str, **table: Any) -> Emitter:
        settings = {"url": url, "backoff_base": 0.05, "backoff_max": 0.2, **table}
        emitter = Emitter(Config(environ={}, sinks={"net": settings}), sinks={"net": JsonSink}, discover=False)
        made.append(emitter)
        return emitter

    yield build
    for emitter in made:
        emitter.close(0)


def titles(receiver: Receiver) -> list[str]:
    out: list[str] = []
    for request in receiver.requests:
        data = request.json()
        out.extend(data if isinstance(data, list) else [data["title"]])
    return out


def test_emit_only_enqueues_and_flush_delivers(make: Make) -> None:
    with Receiver(hanging(0.05)) as receiver:  # a 50 ms endpoint
        emitter = make(receiver.url_for("/hook"))
        start = time.perf_counter()
        for i in range(50):
            emitter.emit("info", f"a{i}", "m")
        assert time.perf_counter() - start < 1.0  # sending them would take 2.5 s
        assert emitter.flush(30) is True
    assert sorted(titles(receiver)) == sorted(f"a{i}" for i in range(50))


def test_503_every_other_request_loses_nothing(make: Make) -> None:
    with Receiver(flaky(503, every=2)) as receiver:
        emitter = make(receiver.url)
        for i in range(20):
            emitter.emit("warning", f"a{i}", "m")
        assert emitter.flush(30)
        stats = emitter.stats()["sinks"]["net"]
    assert set(titles(receiver)) == {f"a{i}" for i in range(20)}  # sent, some twice
    assert len(receiver.requests) >= 30  # half of the attempts failed
    assert stats["delivered"] == 20
    assert stats["retries"] >= 10
    assert stats["failed"] == 0


def test_connection_refused_retries_then_gives_up_and_says_so(make: Make) -> None:
    with Receiver() as receiver:
        url = receiver.url
    emitter = make(url, max_age=1)  # nobody listens there any more
    with capture_logs() as logs:
        emitter.emit("critical", "lost", "m")
        assert emitter.flush(10)
    failed = [e for e in logs if e["event"] == "tocsin.delivery_failed"]
    assert len(failed) == 1
    assert failed[0]["attempts"] >= 2  # retried until the alert was older than max_age
    assert emitter.stats()["sinks"]["net"]["failed"] == 1


def test_lost_alerts_are_announced_when_the_destination_accepts_again(make: Make) -> None:
    state = {"fail": True}

    def respond(request: Any) -> Reply:
        return Reply(500 if state["fail"] else 204)

    with Receiver(respond) as receiver:
        emitter = make(receiver.url, max_age=0)
        emitter.emit("info", "first", "m")
        assert emitter.flush(10)
        state["fail"] = False
        emitter.emit("info", "second", "m")
        assert emitter.flush(10)
    assert titles(receiver)[-2:] == ["1 alert dropped", "second"]


def test_queue_overflow_drops_oldest_counts_and_announces(make: Make) -> None:
    gate = threading.Event()

    def respond(request: Any) -> Reply:
        gate.wait(10)
        return Reply(204)

    with Receiver(respond) as receiver:
        emitter = make(receiver.url, queue_size=10, batch=True)
        emitter.emit("info", "head", "m")
        assert receiver.wait_for(1)
        with capture_logs() as logs:
            for i in range(30):
                emitter.emit("info", f"a{i}", "m")
        gate.set()
        assert emitter.flush(10)
        stats = emitter.stats()["sinks"]["net"]
    assert stats["dropped"] == 20
    assert any(e["event"] == "tocsin.queue_full_dropped_oldest" for e in logs)
    assert titles(receiver) == ["head", "20 alerts dropped", *(f"a{i}" for i in range(20, 30))]


def test_rate_limit_429_waits_exactly_what_is_asked(make: Make) -> None:
    limiter = rate_limited(limit=2, window=1.0)
    with Receiver(limiter) as receiver:
        emitter = make(receiver.url)
        for i in range(8):
            emitter.emit("info", f"a{i}", "m")
        assert emitter.flush(30)
    assert sorted(titles(receiver)) == sorted(f"a{i}" for i in range(8))
    assert limiter.early == 0  # never sent before the limit allowed
    assert len(limiter.accepted) == 8


def test_4xx_rejected_once_with_service_text(make: Make) -> None:
    with Receiver(always(400, b'{"message": "Invalid Form Body", "code": 50035}')) as receiver:
        emitter = make(receiver.url)
        with capture_logs() as logs:
            emitter.emit("info", "bad", "m")
            assert emitter.flush(10)
    assert len(receiver.requests) == 1  # not retried
    [event] = [e for e in logs if e["event"] == "tocsin.delivery_rejected"]
    assert "Invalid Form Body" in event["error"]
    assert "50035" in event["error"]


def test_410_stops_the_destination(make: Make) -> None:
    with Receiver(always(410, b"gone")) as receiver:
        emitter = make(receiver.url)
        with capture_logs() as logs:
            emitter.emit("info", "a", "m")
            assert emitter.flush(10)
            for _ in range(5):
                emitter.emit("info", "b", "m")
            assert emitter.flush(10)
        stats = emitter.stats()["sinks"]["net"]
    assert len(receiver.requests) == 1
    assert [e["log_level"] for e in logs if e["event"] == "tocsin.destination_gone"] == ["critical"]
    assert stats["gone"] is True
    assert stats["failed"] == 6


def test_hanging_endpoint_threads_bounded_and_flush_deadline(make: Make) -> None:
    with Receiver(hanging(30)) as receiver:
        emitter = make(receiver.url, read_timeout=20)
        start = time.perf_counter()
        for i in range(100):
            emitter.emit("info", f"a{i}", "m")
        assert receiver.wait_for(1)
        after_100 = threading.active_count()
        for i in range(100, 2000):
            emitter.emit("info", f"a{i}", "m")
        elapsed = time.perf_counter() - start
        # no thread per alert (<=: threads of earlier tests may still be ending meanwhile)
        assert threading.active_count() <= after_100
        # no success yet: the adaptive limit stays at one request in flight, one sender
        assert [t.name for t in threading.enumerate() if t.name.startswith("tocsin-deliver")] == ["tocsin-deliver-net"]
        t0 = time.monotonic()
        assert emitter.flush(0.5) is False
        assert time.monotonic() - t0 < 2
    assert elapsed < 2  # 2000 alerts against an endpoint that never answers


def test_without_url_the_sink_is_inert_and_says_not_configured() -> None:
    with Emitter(Config(environ={}), sinks={"net": JsonSink}, discover=False) as emitter:
        emitter.emit("info", "t", "m")
        assert emitter.sink_status("net") == {"configured": False}
        assert emitter.flush(1)


def test_non_http_url_is_a_config_error() -> None:
    with Emitter(Config(environ={}, sinks={"net": {"url": "ftp://x/y"}}), sinks={"net": JsonSink},
                 discover=False) as emitter:
        assert [p.key for p in emitter.config.errors] == ["sinks.net.url"]


def resp(status: int = 200, body: bytes = b"", **headers: str) -> Response:
    return Response(status, {k.replace("_", "-").lower(): v for k, v in headers.items()}, body)


def test_rate_limit_delay_takes_the_longest_the_service_states() -> None:
    assert rate_limit_delay(resp(429, b'{"retry_after": 1.5}')) == 1.5
    assert rate_limit_delay(resp(429, retry_after="3")) == 3.0
    assert rate_limit_delay(resp(429, b'{"retry_after": 0.5}', x_ratelimit_reset_after="2.25")) == 2.25
    assert rate_limit_delay(resp(429, retry_after="Wed, 21 Oct 2015 07:28:00 GMT")) == 0.0  # in the past
    assert rate_limit_delay(resp(429)) is None


def test_pacing_from_ordinary_answers() -> None:
    assert pacing_delay(resp(204, x_ratelimit_remaining="0", x_ratelimit_reset_after="1.2")) == 1.2
    assert pacing_delay(resp(204, x_ratelimit_remaining="3", x_ratelimit_reset_after="1.2")) is None
    reset = str(time.time() + 5)
    delay = pacing_delay(resp(204, x_ratelimit_remaining="0", x_ratelimit_reset=reset))
    assert delay is not None
    assert 4 < delay <= 5


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    policy = RetryPolicy(backoff_base=1, backoff_max=8)
    for attempt, ceiling in [(1, 1), (2, 2), (3, 4), (4, 8), (9, 8)]:
        waits = {policy.backoff(attempt) for _ in range(50)}
        assert all(ceiling / 2 <= w <= ceiling for w in waits)
        assert len(waits) > 1


def test_check_sinks_reports_delivery_failures_and_unconfigured_sinks() -> None:
    with Receiver(always(404, b"gone")) as receiver:
        config = Config(environ={}, sinks={"net": {"url": receiver.url, "max_age": 0}})
        with Emitter(config, sinks={"net": JsonSink, "idle": JsonSink}, discover=False) as emitter:
            first = {c.name: c for c in emitter.check_sinks(5)}
            second = {c.name: c for c in emitter.check_sinks(5)}  # the same error again is still a failure
    assert first["idle"].ok is True
    assert first["idle"].detail.startswith("not configured")
    assert first["net"].ok is False
    assert "HTTP 404" in first["net"].detail
    assert second["net"].ok is False


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a certificate")
def test_tls_certificates_are_verified(tmp_path: Path, make: Make) -> None:
    """A self-signed certificate is refused: nothing is sent to a server we cannot verify."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    received: list[bytes] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        emitter = make(f"https://127.0.0.1:{server.server_address[1]}/hook", max_age=1)
        with capture_logs() as logs:
            emitter.emit("critical", "over TLS", "m")
            assert emitter.flush(20)
    finally:
        server.shutdown()
        server.server_close()
    assert received == []
    [failed] = [e for e in logs if e["event"] == "tocsin.delivery_failed"]
    assert "CERTIFICATE_VERIFY_FAILED" in failed["error"] or "certificate verify failed" in failed["error"]


def test_an_answer_without_a_body_is_not_printed_with_an_empty_tail() -> None:
    from tocsin.delivery import classify_response

    assert Response(404, {}, b"").summary() == "HTTP 404"
    assert Response(404, {}, b"  \n").summary() == "HTTP 404"
    assert Response(400, {}, b"bad thing").summary() == "HTTP 400: bad thing"
    assert classify_response(Response(404, {}, b"")).detail == "HTTP 404"
