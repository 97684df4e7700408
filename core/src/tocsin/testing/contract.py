"""The sink contract: the promises every tocsin sink keeps, as a pytest suite to subclass.

tocsin promises its callers that an alert never raises into them, never blocks them, never
leaks a secret and survives any input. Those promises hold only if every installed sink keeps
them, so every sink — ours and yours — runs the same checks::

    from tocsin.testing.contract import SinkContract

    class TestMySink(SinkContract):
        sink_name = "mysink"                 # the entry-point name, and [sinks.mysink]
        sink_class = MySink                  # what the entry point names

        def sink_settings(self, tmp_path, url):
            return {"path": str(tmp_path / "out.log")}   # a valid [sinks.mysink] table

Network sinks subclass :class:`NetworkSinkContract` and use ``url``, a real receiver on
127.0.0.1 (answering, or hanging for the blocking checks). Set ``check_entry_point = False``
only while the sink is not installed.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import pytest

from .._alert import Alert, make_alert
from .._config import Config
from .._discovery import find_sink_entry_points
from .._emitter import Emitter
from .._severity import Severity
from ._hostile import HOSTILE_ALERTS as _HOSTILE
from ._hostile import describe
from ._receiver import Receiver, Reply, always, hanging
from ._render import render_hostile

__all__ = ["HOSTILE_ALERTS", "MAX_CALL_SECONDS", "NetworkSinkContract", "SinkContract"]

MAX_CALL_SECONDS = 0.5
"""How long one ``alert_emitted`` may take before it counts as blocking the caller. Generous on
purpose (a slow CI machine must not fail a good sink); a sink that waits on the network takes
the 30 s the hanging receiver stalls."""

SECRET_TOKEN = "cOnTrAcT-sEcReT-" + "x9" * 20


HOSTILE_ALERTS: list[Alert] = _HOSTILE
"""Alerts that every sink must accept without raising, and deliver (a network sink) or record (a
local one): huge, control characters, lone surrogates (as normalised), odd context, empty text,
mention strings, recursive context, non-ASCII titles."""

_ARRIVAL_TIMEOUT = 10.0  # seconds flush() may take to hand over one hostile alert


def _int(status: Mapping[str, object], key: str) -> int | None:
    value = status.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class SinkContract:
    """The contract of every sink. Subclass it in a ``Test…`` class and set the attributes.

    Each failure says what was expected and what was received (the installed contract's
    asserts are not rewritten by pytest, so every check carries its own message).
    """

    sink_name: ClassVar[str] = ""
    """The sink's entry-point name (and the NAME of its ``[sinks.NAME]`` table)."""
    sink_class: ClassVar[object] = None
    """The object the entry point names: a class (built with settings) or a module/object."""
    check_entry_point: ClassVar[bool] = True
    """Check that the installed distribution advertises the sink and ``tocsin sinks`` lists it."""

    def sink_settings(self, tmp_path: Path, url: str) -> dict[str, Any]:
        """A valid ``[sinks.NAME]`` table for the sink under test. ``url`` is a real HTTP receiver
        on 127.0.0.1; paths should go under ``tmp_path``."""
        return {}

    def recorded(self, sink: object, tmp_path: Path) -> int | None:
        """How many alerts ``sink`` (the loaded plugin object) has recorded so far, for the
        check that every hostile alert arrives. Override it when the sink's ``sink_status`` has
        no ``delivered`` count: count the lines of its file under ``tmp_path``, the rows of its
        database. The default, None, reads ``delivered`` from the sink's status."""
        return None

    # -- fixtures ----------------------------------------------------------------------------

    @pytest.fixture
    def receiver(self) -> Iterator[Receiver]:
        """A receiver on 127.0.0.1 that answers every request with 200."""
        with Receiver(always(200, b"ok")) as receiver:
            yield receiver

    @pytest.fixture
    def table(self, tmp_path: Path, receiver: Receiver) -> dict[str, Any]:
        """The settings table of the sink under test."""
        return self.sink_settings(tmp_path, receiver.url_for(f"/hook/{SECRET_TOKEN}"))

    @pytest.fixture
    def make_emitter(self) -> Iterator[Callable[[dict[str, Any]], Emitter]]:
        """Build an isolated emitter with only the sink under test and the given table."""
        made: list[Emitter] = []

        def make(table: dict[str, Any]) -> Emitter:
            assert self.sink_name, f"set sink_name on {type(self).__name__}: expected the entry-point name, found ''"
            assert self.sink_class is not None, (
                f"set sink_class on {type(self).__name__}: expected what the entry point names, found None")
            config = Config(environ=dict(os.environ), sinks={self.sink_name: table})
            emitter = Emitter(config, sinks={self.sink_name: self.sink_class}, discover=False)
            made.append(emitter)
            return emitter

        yield make
        for emitter in made:
            emitter.close(0)

    @pytest.fixture
    def emitter(self, make_emitter: Callable[[dict[str, Any]], Emitter], table: dict[str, Any]) -> Emitter:
        """An isolated emitter with only the sink under test."""
        emitter = make_emitter(table)
        [record] = emitter.sinks()
        assert record.loaded, (
            f"expected sink {self.sink_name!r} to load with the table {table!r}; it failed: {record.error}")
        return emitter

    def _hook(self, emitter: Emitter) -> Callable[[Alert], object]:
        """The sink's own ``alert_emitted``, whatever its ``min_severity``: a failure of the sink
        fails the test with the sink's traceback."""

        def hook(alert: Alert) -> None:
            results = emitter.send(self.sink_name, alert)
            if not results:
                pytest.fail(f"expected sink {self.sink_name!r} to take {describe(alert)}, but it has no "
                            "alert_emitted hook loaded", pytrace=False)
            for result in results:
                if result.failure is not None:
                    pytest.fail(
                        f"expected alert_emitted to return, but for {describe(alert)} it raised "
                        f"{result.failure.error}\n{result.failure.traceback}",
                        pytrace=False,
                    )

        return hook

    def _failures(self, emitter: Emitter) -> int:
        return int(emitter.stats()["sinks"][self.sink_name]["failures"])

    def _recorded(self, emitter: Emitter, tmp_path: Path) -> int:
        """What :meth:`recorded` says, else the ``delivered`` count of the sink's status."""
        count = self.recorded(emitter.sink(self.sink_name), tmp_path)
        if count is not None:
            return count
        status = emitter.sink_status(self.sink_name)
        delivered = _int(status, "delivered")
        if delivered is None:
            pytest.fail(
                f"expected sink {self.sink_name!r} to count what it hands over, so that the contract can check "
                "that every hostile alert arrives: an int 'delivered' in what sink_status() returns, or an "
                f"override of recorded(sink, tmp_path) -> int on {type(self).__name__}; received the status "
                f"{dict(status)!r}", pytrace=False)
        return delivered

    # -- the contract ------------------------------------------------------------------------

    def test_loads_with_its_settings_and_no_problem(self, emitter: Emitter, table: dict[str, Any]) -> None:
        """A valid table loads the sink and reports nothing: every key was read and accepted."""
        problems = [str(p) for p in emitter.config.problems]
        assert problems == [], f"expected no configuration problem with the table {table!r}, received {problems}"

    def test_settings_come_from_its_table(self, make_emitter: Callable[[dict[str, Any]], Emitter],
                                          table: dict[str, Any]) -> None:
        """Settings are read from ``[sinks.NAME]`` through SinkSettings: a key the sink does
        not know is reported as unknown, under the sink's own name."""
        emitter = make_emitter({**table, "surely_not_a_setting": 1})
        keys = [(p.key, p.level) for p in emitter.config.problems]
        expected = [(f"sinks.{self.sink_name}.surely_not_a_setting", "warning")]
        assert keys == expected, (
            f"expected an unknown key to be reported as {expected} (read settings with SinkSettings' getters), "
            f"received {keys}")

    def test_accepts_every_severity(self, emitter: Emitter) -> None:
        for severity in Severity:
            emitter.emit(severity, f"{severity} alert", "message", {"severity": severity.value})
        flushed = emitter.flush(10)
        assert flushed is True, (f"expected flush(10) to hand over one alert of each severity and return True, "
                                 f"received {flushed!r}; status {dict(emitter.sink_status(self.sink_name))!r}")
        failures = self._failures(emitter)
        assert failures == 0, f"expected no hook of the sink to raise, {failures} raised (see the log)"

    def test_hostile_alerts_never_raise(self, emitter: Emitter) -> None:
        hook = self._hook(emitter)
        for alert in HOSTILE_ALERTS:
            hook(alert)  # fails the test with the sink's traceback if the sink raises
        emitter.flush(10)
        failures = self._failures(emitter)
        assert failures == 0, f"expected no hook of the sink to raise on the hostile alerts, {failures} raised"

    def test_hostile_alerts_arrive(self, emitter: Emitter, tmp_path: Path, receiver: Receiver) -> None:
        """Each hostile alert, sent alone and flushed, is handed over: the sink's ``delivered``
        count (or :meth:`recorded`) grows, and nothing is counted failed or dropped. Not raising
        is not enough: a message the sink renders but HTTP cannot carry is lost after the call."""
        hook = self._hook(emitter)
        for alert in HOSTILE_ALERTS:
            before = self._recorded(emitter, tmp_path)
            hook(alert)
            flushed = emitter.flush(_ARRIVAL_TIMEOUT)
            status = dict(emitter.sink_status(self.sink_name))
            assert flushed is True, (
                f"expected flush({_ARRIVAL_TIMEOUT:g}) to hand over {describe(alert)} and return True, "
                f"received {flushed!r}; status {status!r}")
            after = self._recorded(emitter, tmp_path)
            if after < before + 1:
                pytest.fail(
                    f"{describe(alert)} did not arrive: expected {self.sink_name!r} to count it delivered "
                    f"({before} before, at least {before + 1} after), received {after}; "
                    f"failed={status.get('failed')!r} dropped={status.get('dropped')!r} "
                    f"last_error={status.get('last_error')!r}. A message HTTP cannot carry (a header that is not "
                    "latin-1 or holds a line break) is lost after alert_emitted has returned: "
                    "tocsin.testing.render_hostile(sink) names the field; the captured log has the error",
                    pytrace=False)
            for key in ("failed", "dropped"):
                value = _int(status, key)
                if value:
                    pytest.fail(f"expected no alert {key} after {describe(alert)}, received {key}={value}; "
                                f"last_error={status.get('last_error')!r}", pytrace=False)
        failures = self._failures(emitter)
        assert failures == 0, f"expected no hook of the sink to raise on the hostile alerts, {failures} raised"
        self._check_hostile_arrived(emitter, receiver)

    def _check_hostile_arrived(self, emitter: Emitter, receiver: Receiver) -> None:
        """Where the hostile alerts went, beyond the counts: nothing more to see for a local sink."""

    def test_alert_is_not_mutated(self, emitter: Emitter) -> None:
        hook = self._hook(emitter)
        for alert in [*HOSTILE_ALERTS[:3], make_alert("warning", "t", "m", {"a": [1, {"b": 2}]})]:
            before = copy.deepcopy(json.loads(json.dumps(alert.to_dict())))
            fields = dict(vars(alert))
            hook(alert)
            emitter.flush(5)
            after = json.loads(json.dumps(alert.to_dict()))
            changed = sorted(k for k in before if before[k] != after.get(k))
            assert after == before, f"expected {describe(alert)} unchanged by the sink, its fields {changed} changed"
            replaced = sorted(k for k, v in fields.items() if getattr(alert, k) is not v)
            assert not replaced, (
                f"expected {describe(alert)} unchanged by the sink, its attributes {replaced} were replaced")

    def test_alert_emitted_returns_quickly(self, make_emitter: Callable[[dict[str, Any]], Emitter],
                                           tmp_path: Path) -> None:
        """``alert_emitted`` runs on the caller's thread: against a destination that never
        answers (network sinks) it must still return at once."""
        with Receiver(hanging(30)) as stalled:
            emitter = make_emitter(self.sink_settings(tmp_path, stalled.url_for(f"/hook/{SECRET_TOKEN}")))
            hook = self._hook(emitter)
            for i in range(20):
                start = time.perf_counter()
                hook(make_alert("warning", f"alert {i}", "m", {"i": i}))
                took = time.perf_counter() - start
                assert took < MAX_CALL_SECONDS, (
                    f"expected alert_emitted to return within {MAX_CALL_SECONDS} s even when the destination "
                    f"hangs, call {i} took {took:.3f} s: it blocks the caller (queue the alert, send it elsewhere)")
            emitter.close(0)

    def test_flush_honours_its_timeout(self, make_emitter: Callable[[dict[str, Any]], Emitter],
                                       tmp_path: Path) -> None:
        with Receiver(hanging(30)) as stalled:
            emitter = make_emitter(self.sink_settings(tmp_path, stalled.url_for(f"/hook/{SECRET_TOKEN}")))
            emitter.emit("critical", "pending", "m")
            start = time.monotonic()
            emitter.flush(0.5)
            took = time.monotonic() - start
            assert took < 0.5 + 2.0, (f"expected flush(0.5) to return within 2.5 s against a hanging destination, "
                                      f"it took {took:.2f} s")
            emitter.close(0)

    def test_many_threads_at_once(self, emitter: Emitter) -> None:
        def work(n: int) -> None:
            for i in range(50):
                emitter.emit("info", f"thread {n} alert {i}", "m")

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        flushed = emitter.flush(30)
        assert flushed, (f"expected flush(30) to hand over 200 alerts from 4 threads and return True, received "
                         f"{flushed!r}; status {dict(emitter.sink_status(self.sink_name))!r}")
        failures = self._failures(emitter)
        assert failures == 0, f"expected no hook of the sink to raise under 4 threads, {failures} raised"

    def test_loads_from_its_entry_point_and_is_listed(self, tmp_path: Path) -> None:
        if not self.check_entry_point:
            pytest.skip("check_entry_point is off: the sink is not installed")
        found = {ep.name: ep for ep in find_sink_entry_points()}
        assert self.sink_name in found, (
            f"expected an entry point {self.sink_name!r} in the group tocsin.sinks (is the distribution "
            f"installed?), found {sorted(found)}")
        if self.sink_class is not None:
            loaded = found[self.sink_name].load()
            assert loaded is self.sink_class, (
                f"expected the entry point {self.sink_name!r} to name {self.sink_class!r}, it names {loaded!r}")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TOCSIN_", "ATOCORE_"))}
        env.update(HOME=str(tmp_path), XDG_STATE_HOME=str(tmp_path / "state"),
                   XDG_CONFIG_HOME=str(tmp_path / "config"))
        run = subprocess.run([sys.executable, "-m", "tocsin", "sinks", "--json"], capture_output=True, text=True,
                             env=env, cwd=tmp_path, timeout=120)
        try:
            listed = {s["name"]: s for s in json.loads(run.stdout)}
        except ValueError:
            pytest.fail(f"expected `tocsin sinks --json` to print JSON, received exit {run.returncode}, "
                        f"stdout {run.stdout[-500:]!r}, stderr {run.stderr[-1500:]!r}", pytrace=False)
        assert self.sink_name in listed, (
            f"expected `tocsin sinks` to list {self.sink_name!r}, it lists {sorted(listed)}")
        sink = listed[self.sink_name]
        assert sink["loaded"], f"expected `tocsin sinks` to show {self.sink_name!r} loaded, it failed: {sink['error']}"


class NetworkSinkContract(SinkContract):
    """The contract of sinks that deliver over the network, on top of :class:`SinkContract`.

    Its arrival check also wants the receiver to have had a request; ``render`` is checked
    alone too, with :func:`tocsin.testing.render_hostile`, when the sink has one.
    """

    def test_without_url_it_is_inert_and_not_configured(self, make_emitter: Callable[[dict[str, Any]], Emitter],
                                                       table: dict[str, Any]) -> None:
        emitter = make_emitter({k: v for k, v in table.items() if k != "url"})
        emitter.emit("critical", "t", "m")
        flushed = emitter.flush(1)
        assert flushed, f"expected flush(1) of a sink without url to return True at once, received {flushed!r}"
        status = dict(emitter.sink_status(self.sink_name))
        assert status.get("configured") is False, (
            f"expected the status of a sink without url to say configured=False, received {status!r}")

    def test_delivers_to_its_url(self, emitter: Emitter, receiver: Receiver) -> None:
        emitter.emit("warning", "delivered?", "m")
        flushed = emitter.flush(10)
        status = dict(emitter.sink_status(self.sink_name))
        assert flushed, (
            f"expected flush(10) to deliver one alert and return True, received {flushed!r}; status {status!r}")
        arrived = receiver.wait_for(1, 5)
        assert arrived, f"expected one request at the receiver, received none; status {status!r}"
        path = receiver.requests[0].path
        assert path == f"/hook/{SECRET_TOKEN}", (
            f"expected the request at the url's path /hook/<token>, received it at {path[:60]!r}")

    def _check_hostile_arrived(self, emitter: Emitter, receiver: Receiver) -> None:
        assert receiver.requests, (
            f"expected the receiver to get the hostile alerts, it received no request; status "
            f"{dict(emitter.sink_status(self.sink_name))!r}")

    def test_hostile_alerts_render(self, emitter: Emitter) -> None:
        """Each hostile alert renders alone into messages HTTP can carry (bytes body, count of
        at least 1, latin-1 headers without line breaks): :func:`tocsin.testing.render_hostile`."""
        sink = emitter.sink(self.sink_name)
        if not callable(getattr(sink, "render", None)):
            pytest.skip("the sink has no render(): it does not use tocsin.delivery.NetworkSink")
        try:
            render_hostile(sink)
        except AssertionError as exc:
            problem = str(exc)
        else:
            return
        pytest.fail(problem, pytrace=False)  # outside the except: one message, not a chain of two

    def test_no_secret_in_logs_or_status(self, make_emitter: Callable[[dict[str, Any]], Emitter],
                                         tmp_path: Path) -> None:
        from structlog.testing import capture_logs

        def echo(request: Any) -> Reply:  # an error page that quotes the URL it was asked for
            return Reply(500 if len(failing.requests) == 1 else 404, {}, f"no such hook {request.path}".encode())

        with Receiver(echo) as failing, capture_logs() as logs:
            url = failing.url_for(f"/hook/{SECRET_TOKEN}")
            emitter = make_emitter({**self.sink_settings(tmp_path, url), "backoff_base": 0.01})
            emitter.emit("critical", "t", "m")
            emitter.flush(10)
            status = emitter.stats()
            emitter.close(0)
        assert len(failing.requests) >= 1, "expected at least one request at the failing receiver, received none"
        events = [e for e in logs if SECRET_TOKEN in json.dumps(e, default=str)]
        shown = [e.get("event") for e in events]
        assert not events, f"expected the url's token in no log event, it is in the events {shown}"
        assert SECRET_TOKEN not in json.dumps(status, default=str), (
            "expected the url's token nowhere in Emitter.stats(), it is there (use tocsin.redact_url)")
