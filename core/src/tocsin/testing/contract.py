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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from .._alert import Alert, make_alert
from .._config import Config
from .._discovery import find_sink_entry_points
from .._emitter import Emitter
from .._severity import Severity
from ._receiver import Receiver, Reply, always, hanging

__all__ = ["HOSTILE_ALERTS", "MAX_CALL_SECONDS", "NetworkSinkContract", "SinkContract"]

MAX_CALL_SECONDS = 0.5
"""How long one ``alert_emitted`` may take before it counts as blocking the caller. Generous on
purpose (a slow CI machine must not fail a good sink); a sink that waits on the network takes
the 30 s the hanging receiver stalls."""

SECRET_TOKEN = "cOnTrAcT-sEcReT-" + "x9" * 20


class _Loop:
    """A mapping that contains itself: normalisation must cut it."""


def _hostile() -> list[Alert]:
    loop: dict[str, Any] = {}
    loop["self"] = loop
    return [
        make_alert("critical", "T" * 5000, "M" * 200_000, {f"k{i}": "v" * 5000 for i in range(300)}),
        make_alert("warning", "line\nbreak\r\x00\x1b[31m\u2028\u2029\x85", "tab\tnul\x00 bell\x07",
                   {"\n": "\r", "esc": "\x1b]0;title\x07"}),
        make_alert("info", "lone \ud800 surrogate", "\udfff", {"s": "\ud83d"}),
        make_alert("info", b"\xff\xfe bytes", None, {1: 2, (3, 4): {5, 6}, "nan": float("nan"), "big": 10**500}),
        make_alert("critical", "", "", {}),
        make_alert("warning", "@everyone <!channel> <@U123> &amp; ${HOME} %s {0}", "*_~`|>", {"loop": loop}),
        make_alert("bogus", object(), _Loop(), ["not", "a", "mapping"]),
        make_alert("info", "ünïcødé ☃ 🚨 中文 עברית", "\u202e right-to-left override", {"emoji": "🔥" * 100}),
    ]


HOSTILE_ALERTS: list[Alert] = _hostile()
"""Alerts that every sink must accept without raising: huge, control characters, lone
surrogates (as normalised), odd context, empty text, mention strings, recursive context."""


class SinkContract:
    """The contract of every sink. Subclass it in a ``Test…`` class and set the attributes."""

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
            assert self.sink_name, "set sink_name on the contract subclass"
            assert self.sink_class is not None, "set sink_class on the contract subclass"
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
        assert record.loaded, f"the sink did not load: {record.error}"
        return emitter

    def _hook(self, emitter: Emitter) -> Callable[[Alert], object]:
        """The sink's own ``alert_emitted``, whatever its ``min_severity``: a failure of the sink
        fails the test with the sink's traceback."""

        def hook(alert: Alert) -> None:
            for result in emitter.send(self.sink_name, alert):
                if result.failure is not None:
                    pytest.fail(
                        f"alert_emitted must not raise, but for the alert titled {alert.title[:60]!r} it raised "
                        f"{result.failure.error}\n{result.failure.traceback}",
                        pytrace=False,
                    )

        return hook

    # -- the contract ------------------------------------------------------------------------

    def test_loads_with_its_settings_and_no_problem(self, emitter: Emitter) -> None:
        """A valid table loads the sink and reports nothing: every key was read and accepted."""
        assert emitter.config.problems == [], [str(p) for p in emitter.config.problems]

    def test_settings_come_from_its_table(self, make_emitter: Callable[[dict[str, Any]], Emitter],
                                          table: dict[str, Any]) -> None:
        """Settings are read from ``[sinks.NAME]`` through SinkSettings: a key the sink does
        not know is reported as unknown, under the sink's own name."""
        emitter = make_emitter({**table, "surely_not_a_setting": 1})
        keys = [(p.key, p.level) for p in emitter.config.problems]
        assert keys == [(f"sinks.{self.sink_name}.surely_not_a_setting", "warning")]

    def test_accepts_every_severity(self, emitter: Emitter) -> None:
        for severity in Severity:
            emitter.emit(severity, f"{severity} alert", "message", {"severity": severity.value})
        assert emitter.flush(10) is True
        assert emitter.stats()["sinks"][self.sink_name]["failures"] == 0

    def test_hostile_alerts_never_raise(self, emitter: Emitter) -> None:
        hook = self._hook(emitter)
        for alert in HOSTILE_ALERTS:
            hook(alert)  # raises into the test if the sink raises
        emitter.flush(10)
        assert emitter.stats()["sinks"][self.sink_name]["failures"] == 0

    def test_alert_is_not_mutated(self, emitter: Emitter) -> None:
        hook = self._hook(emitter)
        for alert in [*HOSTILE_ALERTS[:3], make_alert("warning", "t", "m", {"a": [1, {"b": 2}]})]:
            before = copy.deepcopy(json.loads(json.dumps(alert.to_dict())))
            fields = dict(vars(alert))
            hook(alert)
            emitter.flush(5)
            assert json.loads(json.dumps(alert.to_dict())) == before
            assert all(getattr(alert, k) is v for k, v in fields.items())

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
                assert took < MAX_CALL_SECONDS, f"alert_emitted took {took:.3f} s: it blocks the caller"
            emitter.close(0)

    def test_flush_honours_its_timeout(self, make_emitter: Callable[[dict[str, Any]], Emitter],
                                       tmp_path: Path) -> None:
        with Receiver(hanging(30)) as stalled:
            emitter = make_emitter(self.sink_settings(tmp_path, stalled.url_for(f"/hook/{SECRET_TOKEN}")))
            emitter.emit("critical", "pending", "m")
            start = time.monotonic()
            emitter.flush(0.5)
            took = time.monotonic() - start
            assert took < 0.5 + 2.0, f"flush(0.5) took {took:.2f} s"
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
        assert emitter.flush(30)
        assert emitter.stats()["sinks"][self.sink_name]["failures"] == 0

    def test_loads_from_its_entry_point_and_is_listed(self, tmp_path: Path) -> None:
        if not self.check_entry_point:
            pytest.skip("check_entry_point is off: the sink is not installed")
        found = {ep.name: ep for ep in find_sink_entry_points()}
        assert self.sink_name in found, f"no {self.sink_name!r} entry point in group tocsin.sinks: is it installed?"
        if self.sink_class is not None:
            assert found[self.sink_name].load() is self.sink_class
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TOCSIN_", "ATOCORE_"))}
        env.update(HOME=str(tmp_path), XDG_STATE_HOME=str(tmp_path / "state"),
                   XDG_CONFIG_HOME=str(tmp_path / "config"))
        run = subprocess.run([sys.executable, "-m", "tocsin", "sinks", "--json"], capture_output=True, text=True,
                             env=env, cwd=tmp_path, timeout=120)
        listed = {s["name"]: s for s in json.loads(run.stdout)}
        assert self.sink_name in listed
        assert listed[self.sink_name]["loaded"], listed[self.sink_name]["error"]


class NetworkSinkContract(SinkContract):
    """The contract of sinks that deliver over the network, on top of :class:`SinkContract`."""

    def test_without_url_it_is_inert_and_not_configured(self, make_emitter: Callable[[dict[str, Any]], Emitter],
                                                       table: dict[str, Any]) -> None:
        emitter = make_emitter({k: v for k, v in table.items() if k != "url"})
        emitter.emit("critical", "t", "m")
        assert emitter.flush(1)
        assert emitter.sink_status(self.sink_name).get("configured") is False

    def test_delivers_to_its_url(self, emitter: Emitter, receiver: Receiver) -> None:
        emitter.emit("warning", "delivered?", "m")
        assert emitter.flush(10)
        assert receiver.wait_for(1, 5)
        assert receiver.requests[0].path == f"/hook/{SECRET_TOKEN}"

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
        assert len(failing.requests) >= 1
        text = json.dumps(logs, default=str) + json.dumps(status, default=str)
        assert SECRET_TOKEN not in text
