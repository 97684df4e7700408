"""Issue 8's engine behaviours, each against a real HTTP server on 127.0.0.1: concurrency,
retries for as long as an outage lasts, parked retries, 429 without a usable wait, the
whole-request deadline, poisoned alerts, the byte bound, per-message URLs."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from structlog.testing import capture_logs

import tocsin
from tocsin import Alert, Config, Emitter
from tocsin._duration import parse_duration
from tocsin.delivery import Message, NetworkSink
from tocsin.testing import Received, Receiver, Reply, always, flaky, hanging


class OnePerAlert(NetworkSink):
    """One JSON POST per alert (``batch = false``), or all pending in one with ``batch``."""

    def configure(self, settings: tocsin.SinkSettings) -> None:
        self.batch = settings.get_bool("batch")

    def render(self, alerts: list[Alert]) -> list[Message]:
        if self.batch:
            return [Message(json.dumps([a.title for a in alerts]).encode(), count=len(alerts))]
        return [Message(json.dumps({"title": a.title, "id": a.id}).encode(), count=1, id=a.id) for a in alerts]


Make = Callable[..., Emitter]


@pytest.fixture
def make() -> Iterator[Make]:
    made: list[Emitter] = []

    def build(url: str, sink: type = OnePerAlert, **table: Any) -> Emitter:
        settings = {"url": url, "backoff_base": 0.05, "backoff_max": 0.2, **table}
        emitter = Emitter(Config(environ={}, spool=False, sinks={"net": settings}), sinks={"net": sink},
                          discover=False)
        made.append(emitter)
        return emitter

    yield build
    for emitter in made:
        emitter.close(0)


def delivered_titles(requests: list[Received], ok: set[int]) -> list[str]:
    out: list[str] = []
    for index in sorted(ok):
        data = requests[index].json()
        out.extend(data if isinstance(data, list) else [data["title"]])
    return out


class Recorder:
    """A behaviour wrapper: which requests it accepted, and the most it held at once."""

    def __init__(self, inner: Callable[[Received], Reply]) -> None:
        self.inner = inner
        self.lock = threading.Lock()
        self.active = 0
        self.peak = 0
        self.accepted: list[Received] = []

    def __call__(self, request: Received) -> Reply:
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            reply = self.inner(request)
            if reply.delay:
                time.sleep(reply.delay)
            if reply.status < 300:
                with self.lock:
                    self.accepted.append(request)
            return Reply(reply.status, reply.headers, reply.body)
        finally:
            with self.lock:
                self.active -= 1

    def titles(self) -> list[str]:
        out: list[str] = []
        for r in self.accepted:
            data = r.json()
            out.extend(data if isinstance(data, list) else [data["title"]])
        return out


def test_several_requests_in_flight_but_never_more_than_max_concurrency(make: Make) -> None:
    recorder = Recorder(hanging(0.05))
    with Receiver(recorder) as receiver:
        emitter = make(receiver.url, max_concurrency=4)
        for i in range(120):
            emitter.emit("info", f"a{i}", "m")
        assert emitter.flush(30)
        senders = emitter.stats()["sinks"]["net"]["senders"]
    assert sorted(recorder.titles()) == sorted(f"a{i}" for i in range(120))
    assert 2 <= recorder.peak <= 4, recorder.peak  # grew from one while answers were fast, within the maximum
    assert 1 <= senders <= 4


def test_retries_for_as_long_as_the_outage_lasts(make: Make) -> None:
    start = time.monotonic()
    recorder = Recorder(lambda r: Reply(503 if time.monotonic() - start < 3.0 else 204))
    with Receiver(recorder) as receiver:
        emitter = make(receiver.url)  # 0.2 s backoff cap: ~15 attempts each during the outage
        for i in range(10):
            emitter.emit("warning", f"a{i}", "m")
        assert emitter.flush(30)
        stats = emitter.stats()["sinks"]["net"]
    assert sorted(recorder.titles()) == sorted(f"a{i}" for i in range(10))
    assert stats["failed"] == 0
    assert stats["retries"] > 10 * 6  # the old engine gave up after 6 attempts


def test_after_an_outage_the_first_success_releases_the_parked_messages(make: Make) -> None:
    start = time.monotonic()
    arrived: list[float] = []

    def respond(request: Received) -> Reply:
        if time.monotonic() - start < 4.0:
            return Reply(503)
        arrived.append(time.monotonic())
        return Reply(204)

    with Receiver(respond) as receiver:
        emitter = make(receiver.url, backoff_base=1, backoff_max=60)  # parked up to ~8 s each by now
        for i in range(20):
            emitter.emit("warning", f"a{i}", "m")
        assert emitter.flush(40)
    assert len(arrived) == 20
    assert arrived[-1] - arrived[0] < 2.0  # together, not spread over each one's own backoff


def test_503_on_every_other_request_never_backs_a_message_off_for_long(make: Make) -> None:
    recorder = Recorder(flaky(503, every=2))
    with Receiver(recorder) as receiver:
        emitter = make(receiver.url, backoff_base=0.5, backoff_max=60)
        for i in range(100):
            emitter.emit("warning", f"a{i}", "m")
        # some messages fail several times in a row; their backoff follows the destination's
        # streak (short), not their own count (up to 60 s)
        assert emitter.flush(30)
    assert len(set(recorder.titles())) == 100


def test_a_retrying_message_does_not_hold_up_the_others(make: Make) -> None:
    start = time.monotonic()

    def respond(request: Received) -> Reply:
        if request.json()["title"] == "stuck" and time.monotonic() - start < 2.0:
            return Reply(503)
        return Reply(204)

    recorder = Recorder(respond)
    with Receiver(recorder) as receiver:
        emitter = make(receiver.url, max_concurrency=1)
        emitter.emit("info", "stuck", "m")
        assert receiver.wait_for(1)
        for i in range(5):
            emitter.emit("info", f"a{i}", "m")
        assert emitter.flush(30)
    # the five went out while "stuck" waited for its retries
    assert recorder.titles() == [*(f"a{i}" for i in range(5)), "stuck"]


@pytest.mark.parametrize("retry_after", ["0", None, "soon", "-5"])
def test_429_without_a_usable_wait_backs_off_instead_of_looping(make: Make, retry_after: str | None) -> None:
    start = time.monotonic()

    def respond(request: Received) -> Reply:
        if time.monotonic() - start < 3.0:
            return Reply(429, {} if retry_after is None else {"Retry-After": retry_after})
        return Reply(204)

    recorder = Recorder(respond)
    with Receiver(recorder) as receiver:
        emitter = make(receiver.url)
        for i in range(5):
            emitter.emit("info", f"a{i}", "m")
        assert emitter.flush(30)
        during = sum(1 for r in receiver.requests if r.at - start < 3.0)
    assert sorted(recorder.titles()) == sorted(f"a{i}" for i in range(5))
    assert during <= 8  # the old engine sent thousands in these 3 s


def _drip_server(first_connection_drips: threading.Event, stop: threading.Event) -> socket.socket:
    """A raw HTTP server: its first connection answers 200 then sends the body 1 byte a second;
    the others answer 204 at once."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)

    def handle(conn: socket.socket, drip: bool) -> None:
        with conn:
            conn.settimeout(5)
            while True:
                data = b""
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
                    if drip:
                        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
                        for _ in range(100):
                            if stop.wait(1.0):
                                return
                            conn.sendall(b"x")
                        return
                    conn.sendall(b"HTTP/1.1 204 No Content\r\n\r\n")
                except OSError:
                    return

    def serve() -> None:
        first = True
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=handle, args=(conn, first), daemon=True).start()
            if first:
                first_connection_drips.set()
            first = False

    threading.Thread(target=serve, daemon=True).start()
    return server


def test_a_body_sent_one_byte_a_second_cannot_wedge_the_destination(make: Make) -> None:
    dripping, stop = threading.Event(), threading.Event()
    server = _drip_server(dripping, stop)
    try:
        url = f"http://127.0.0.1:{server.getsockname()[1]}/hook"
        emitter = make(url, request_timeout=1.5, max_concurrency=1)
        with capture_logs() as logs:
            emitter.emit("info", "first", "m")
            assert dripping.wait(5)
            for i in range(3):
                emitter.emit("info", f"a{i}", "m")
            assert emitter.flush(20)
        stats = emitter.stats()["sinks"]["net"]
    finally:
        stop.set()
        server.close()
    assert stats["delivered"] == 4
    assert stats["failed"] == 0
    retries = [e for e in logs if e["event"] == "tocsin.delivery_retry"]
    assert any("deadline" in e["error"] for e in retries)


class RenderRaises(NetworkSink):
    """Renders a batch in one message, and raises on any alert titled "poison"."""

    def render(self, alerts: list[Alert]) -> list[Message]:
        if any(a.title == "poison" for a in alerts):
            raise ValueError("cannot render this one")
        return [Message(json.dumps([a.title for a in alerts]).encode(), count=len(alerts))]


def test_an_alert_that_cannot_be_rendered_costs_only_itself(make: Make) -> None:
    recorder = Recorder(always(204))
    with Receiver(recorder) as receiver:
        emitter = make(receiver.url, sink=RenderRaises)
        with capture_logs() as logs:
            for title in ("a", "poison", "b"):
                emitter.emit("info", title, "m")
            assert emitter.flush(10)
            emitter.emit("info", "c", "m")
            assert emitter.flush(10)
        stats = emitter.stats()["sinks"]["net"]
    assert sorted(recorder.titles()) == ["1 alert dropped", "a", "b", "c"]
    assert stats["failed"] == 1
    assert stats["delivered"] == 3
    [event] = [e for e in logs if e["event"] == "tocsin.render_failed"]
    assert "ValueError: cannot render this one" in event["traceback"]


class TitleInHeader(NetworkSink):
    """The naive ntfy sink: the raw title in an HTTP header."""

    def render(self, alerts: list[Alert]) -> list[Message]:
        return [Message(a.message.encode(), count=1, headers={"Title": a.title}) for a in alerts]


def test_an_exception_while_sending_is_counted_and_logged_never_silent(make: Make) -> None:
    recorder = Recorder(always(204))
    with Receiver(recorder) as receiver:
        emitter = make(receiver.url, sink=TitleInHeader)
        with capture_logs() as logs:
            emitter.emit("info", "plain", "m1")
            emitter.emit("info", "caf\u00e9 \u2603", "m2")  # not latin-1: cannot be a header
            emitter.emit("info", "plain too", "m3")
            assert emitter.flush(10)
        stats = emitter.stats()["sinks"]["net"]
    assert sorted(r.body for r in recorder.accepted if r.body.startswith(b"m")) == [b"m1", b"m3"]
    assert stats["failed"] == 1
    [event] = [e for e in logs if e["event"] == "tocsin.send_failed"]
    assert "UnicodeEncodeError" in event["traceback"]


def test_a_batch_rejected_with_a_4xx_is_split_until_the_refused_alert_is_alone(make: Make) -> None:
    def respond(request: Received) -> Reply:
        return Reply(400, body=b"invalid") if "poison" in request.json() else Reply(204)

    recorder = Recorder(respond)
    with Receiver(recorder) as receiver:
        emitter = make(receiver.url, batch=True)
        with capture_logs() as logs:
            for i in range(8):
                emitter.emit("info", "poison" if i == 5 else f"a{i}", "m")
            assert emitter.flush(10)
        stats = emitter.stats()["sinks"]["net"]
    assert sorted(recorder.titles()) == sorted(f"a{i}" for i in range(8) if i != 5)
    assert stats["failed"] == 1
    assert stats["delivered"] == 7
    assert len([e for e in logs if e["event"] == "tocsin.delivery_rejected"]) == 1
    assert len(receiver.requests) <= 1 + 2 * 3  # halves: log2(8) rounds of two


def test_queue_bounded_in_bytes_drops_oldest_and_counts(make: Make) -> None:
    with Receiver(hanging(30)) as receiver:
        emitter = make(receiver.url, max_queue_bytes=200_000)
        emitter.emit("info", "head", "m")
        assert receiver.wait_for(1)
        for i in range(100):
            emitter.emit("info", f"big{i}", "x" * 10_000)
        stats = emitter.stats()["sinks"]["net"]
    assert stats["queued_bytes"] <= 200_000
    assert 75 <= stats["dropped"] <= 90  # ~18 of 10.5 KB fit in 200 KB
    assert stats["failed"] == stats["dropped"]


class PerTopic(NetworkSink):
    """An ntfy-like sink: each alert to its own topic URL."""

    def render(self, alerts: list[Alert]) -> list[Message]:
        return [Message(a.title.encode(), count=1, url=f"{self.url}/topic-{a.context['topic']}") for a in alerts]


def test_each_message_may_choose_its_url_and_it_is_treated_as_a_secret(make: Make) -> None:
    with Receiver(always(400, b"nope")) as receiver:
        emitter = make(receiver.url_for("/base"), sink=PerTopic)
        with capture_logs() as logs:
            emitter.emit("info", "a", "m", {"topic": "SeCrEtToPiC"})
            assert emitter.flush(10)
    assert [r.path for r in receiver.requests] == ["/base/topic-SeCrEtToPiC"]
    assert "SeCrEtToPiC" not in repr([{k: v for k, v in e.items() if k != "context"} for e in logs])


def test_parse_duration() -> None:
    assert parse_duration("30s") == 30
    assert parse_duration("10m") == 600
    assert parse_duration("1h") == 3600
    assert parse_duration("1h30m") == 5400
    assert parse_duration(45) == 45
    assert parse_duration("2.5") == 2.5
    for bad in ("", "soon", "-1", -1, True, None, "1x", float("nan"), "inf"):
        assert parse_duration(bad) is None


@given(st.one_of(st.text(max_size=20), st.floats(allow_nan=True), st.integers(), st.booleans(), st.none()))
def test_parse_duration_is_total(value: object) -> None:
    result = parse_duration(value)
    assert result is None or (result >= 0 and result != float("inf"))


def test_max_age_and_durations_are_read_from_settings() -> None:
    config = Config(environ={}, spool=False, sinks={"net": {"url": "http://127.0.0.1:9/", "max_age": "10m",
                                                            "backoff_max": "5s", "request_timeout": "bad"}})
    with Emitter(config, sinks={"net": OnePerAlert}, discover=False) as emitter:
        sink = emitter.sink("net")
        assert isinstance(sink, NetworkSink)
        assert sink.destination is not None
        assert sink.destination.retry.max_age == 600
        assert sink.destination.retry.backoff_max == 5
    assert [p.key for p in config.problems] == ["sinks.net.request_timeout"]
