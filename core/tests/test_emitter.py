from __future__ import annotations

import threading
import time
import types
from collections.abc import Callable
from typing import Any

import pytest
from structlog.testing import capture_logs

import tocsin
from tocsin import Alert, Emitter
from tocsin.testing import RecordingSink as Recorder

Make = Callable[..., Emitter]


class Raising:
    calls = 0

    def __init__(self, settings: tocsin.SinkSettings) -> None:
        pass

    @tocsin.hookimpl
    def alert_emitted(self, alert: Alert) -> None:
        Raising.calls += 1
        raise RuntimeError("sink exploded")


def test_fan_out_reaches_every_sink(make_emitter: Make) -> None:
    emitter = make_emitter({"a": Recorder, "b": Recorder})
    alert = emitter.emit("warning", "t", "m", {"k": "v"})
    for name in ("a", "b"):
        sink = emitter.sink(name)
        assert isinstance(sink, Recorder)
        assert sink.alerts == [alert]
    assert sink.settings.name == "b"


def test_raising_sink_does_not_stop_the_others(make_emitter: Make) -> None:
    # Registered between two recorders, whatever pluggy's order.
    emitter = make_emitter({"a": Recorder, "boom": Raising, "z": Recorder})
    with capture_logs() as logs:
        for _ in range(3):
            emitter.emit("critical", "t", "m")
    assert len(emitter.sink("a").alerts) == 3  # type: ignore[union-attr]
    assert len(emitter.sink("z").alerts) == 3  # type: ignore[union-attr]
    failures = [e for e in logs if e["event"] == "tocsin.sink_failed"]
    assert len(failures) == 3
    assert failures[0]["sink"] == "boom"
    assert "sink exploded" in failures[0]["error"]
    assert emitter.stats()["sinks"]["boom"]["failures"] == 3


def test_structlog_event_first_with_seed_level_mapping(make_emitter: Make) -> None:
    order: list[str] = []

    class Probe:
        @tocsin.hookimpl
        def alert_emitted(self, alert: Alert) -> None:
            order.append("sink")

    emitter = make_emitter({"probe": Probe()})
    with capture_logs() as logs:
        emitter.emit("info", "a", "m")
        emitter.emit("warning", "b", "m")
        alert = emitter.emit("critical", "c", "x" * 600, {"k": 1})
    alerts = [e for e in logs if e["event"] == "alert"]
    assert [e["log_level"] for e in alerts] == ["info", "warning", "error"]
    assert alerts[2]["alert_id"] == alert.id
    assert alerts[2]["title"] == "c"
    assert len(alerts[2]["message"]) == 500
    assert alerts[2]["context"] == {"k": 1}
    assert order == ["sink"] * 3


def test_order_honours_tryfirst_and_trylast(make_emitter: Make) -> None:
    order: list[str] = []

    def sink(name: str, **opts: Any) -> object:
        @tocsin.hookimpl(**opts)
        def alert_emitted(alert: Alert) -> None:
            order.append(name)

        return types.SimpleNamespace(alert_emitted=alert_emitted)

    emitter = make_emitter({"last": sink("last", trylast=True), "plain": sink("plain"),
                            "first": sink("first", tryfirst=True)})
    emitter.emit("info", "t", "m")
    assert order == ["first", "plain", "last"]


def test_min_severity_filters_per_sink(make_emitter: Make) -> None:
    emitter = make_emitter({"all": Recorder, "loud": Recorder},
                           sinks={"loud": {"min_severity": "warning"}})
    for sev in ("info", "warning", "critical"):
        emitter.emit(sev, "t", "m")
    assert [a.severity for a in emitter.sink("all").alerts] == ["info", "warning", "critical"]  # type: ignore[union-attr]
    assert [a.severity for a in emitter.sink("loud").alerts] == ["warning", "critical"]  # type: ignore[union-attr]


class NoHooks:
    pass


class TypoHook:
    @tocsin.hookimpl
    def alert_emited(self, alert: Alert) -> None:  # misspelt on purpose
        pass


class Wrapper:
    @tocsin.hookimpl(wrapper=True)
    def alert_emitted(self, alert: Alert) -> Any:
        return (yield)


class BadConstructor:
    def __init__(self, settings: tocsin.SinkSettings) -> None:
        raise ValueError("cannot start")


class BadSignature:
    @tocsin.hookimpl
    def alert_emitted(self, alert: Alert, extra: int) -> None:
        pass


@pytest.mark.parametrize(
    ("obj", "fragment"),
    [
        (NoHooks(), "implements no alert_emitted"),
        (TypoHook(), "alert_emited"),
        (Wrapper(), "wrappers are not supported"),
        (BadConstructor, "cannot start"),
        (BadSignature(), "extra"),
    ],
)
def test_broken_sink_is_recorded_and_skipped(make_emitter: Make, obj: object, fragment: str) -> None:
    with capture_logs() as logs:
        emitter = make_emitter({"good": Recorder, "broken": obj})
    records = {r.name: r for r in emitter.sinks()}
    assert records["good"].loaded
    assert not records["broken"].loaded
    assert fragment in (records["broken"].error or "")
    assert any(e["event"] == "tocsin.sink_load_failed" and e["sink"] == "broken" for e in logs)
    emitter.emit("info", "t", "m")
    assert len(emitter.sink("good").alerts) == 1  # type: ignore[union-attr]


def test_disabled_sink_is_never_built(make_emitter: Make) -> None:
    built: list[str] = []

    class Tracked(Recorder):
        def __init__(self, settings: tocsin.SinkSettings) -> None:
            built.append(settings.name)
            super().__init__(settings)

    emitter = make_emitter({"a": Tracked, "b": Tracked, "c": Tracked}, enable=("a", "b"), disable=("b",))
    assert built == ["a"]
    reasons = {r.name: (r.enabled, r.reason) for r in emitter.sinks()}
    assert reasons == {"a": (True, "listed in enable"), "b": (False, "disabled by config"),
                       "c": (False, "not in the enable list")}


def test_module_sink_gets_settings_through_sink_configure(make_emitter: Make) -> None:
    module = types.ModuleType("fake_sink")
    seen: dict[str, Any] = {}

    @tocsin.hookimpl
    def sink_configure(settings: tocsin.SinkSettings) -> None:
        seen["greeting"] = settings.get_str("greeting")

    @tocsin.hookimpl
    def alert_emitted(alert: Alert) -> None:
        seen["alert"] = alert

    module.sink_configure = sink_configure  # type: ignore[attr-defined]
    module.alert_emitted = alert_emitted  # type: ignore[attr-defined]
    emitter = make_emitter({"mod": module}, sinks={"mod": {"greeting": "hi"}})
    alert = emitter.emit("info", "t", "m")
    assert seen == {"greeting": "hi", "alert": alert}


def test_unknown_sink_key_is_a_warning(make_emitter: Make) -> None:
    with capture_logs() as logs:
        emitter = make_emitter({"a": Recorder}, sinks={"a": {"colour": "red"}})
    assert [(p.key, p.level) for p in emitter.config.problems] == [("sinks.a.colour", "warning")]
    assert [e["key"] for e in logs if e["event"] == "tocsin.config_problem"] == ["sinks.a.colour"]


def test_alert_raised_by_a_sink_reaches_the_others_but_never_loops(make_emitter: Make) -> None:
    """A sink that emits from inside its own hook does not get its alert back (no loop), and
    every other sink does get it: it is deferred, not dropped."""
    calls = []

    class Echo:
        def __init__(self) -> None:
            self.emitter: Emitter | None = None

        @tocsin.hookimpl
        def alert_emitted(self, alert: Alert) -> None:
            calls.append(alert.title)
            assert self.emitter is not None
            self.emitter.emit("info", "echo of " + alert.title, "m")

    echo = Echo()
    emitter = make_emitter({"echo": echo, "rec": Recorder})
    echo.emitter = emitter
    emitter.emit("info", "t", "m")
    assert calls == ["t"]
    assert emitter.sink("rec").titles == ["t", "echo of t"]  # type: ignore[union-attr]


def test_two_sinks_echoing_each_other_stop_after_a_bounded_chain(make_emitter: Make) -> None:
    from tocsin._reentry import MAX_GENERATIONS

    class Echo:
        emitter: Emitter

        @tocsin.hookimpl
        def alert_emitted(self, alert: Alert) -> None:
            self.emitter.emit("info", "echo", "m")

    a, b = Echo(), Echo()
    with capture_logs() as logs:
        emitter = make_emitter({"a": a, "b": b, "rec": Recorder})
        a.emitter = b.emitter = emitter
        emitter.emit("info", "first", "m")
    titles = emitter.sink("rec").titles  # type: ignore[union-attr]
    assert titles[0] == "first"
    assert 1 < len(titles) <= 1 + 2 ** MAX_GENERATIONS
    assert any(e["event"] == "tocsin.alert_loop_dropped" for e in logs)


def test_emit_never_raises_with_hostile_sinks_and_input(make_emitter: Make) -> None:
    emitter = make_emitter({"boom": Raising})

    class Evil:
        def __str__(self) -> str:
            raise RuntimeError

    alert = emitter.emit(Evil(), Evil(), Evil(), Evil())
    assert alert.title == "<unprintable Evil>"


def test_flush_reports_each_sink_and_honours_timeout(make_emitter: Make) -> None:
    class Slow:
        @tocsin.hookimpl
        def alert_emitted(self, alert: Alert) -> None:
            pass

        @tocsin.hookimpl
        def sink_flush(self, timeout: float) -> bool:
            time.sleep(min(timeout, 5))
            return False

    class Fine:
        @tocsin.hookimpl
        def alert_emitted(self, alert: Alert) -> None:
            pass

        @tocsin.hookimpl
        def sink_flush(self, timeout: float) -> bool:
            return True

    assert make_emitter({"fine": Fine()}).flush(1) is True
    emitter = make_emitter({"slow": Slow(), "fine": Fine()})
    start = time.monotonic()
    assert emitter.flush(0.2) is False
    assert time.monotonic() - start < 2


def test_many_threads_emit_concurrently(make_emitter: Make) -> None:
    emitter = make_emitter({"rec": Recorder})

    def work() -> None:
        for i in range(200):
            emitter.emit("info", f"t{i}", "m")

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(emitter.sink("rec").alerts) == 1600  # type: ignore[union-attr]
    assert emitter.stats()["emitted"] == 1600


def test_check_sinks_reports_each(make_emitter: Make) -> None:
    emitter = make_emitter({"rec": Recorder, "boom": Raising})
    results = {c.name: c for c in emitter.check_sinks(1)}
    assert results["rec"].ok
    assert not results["boom"].ok
    assert "sink exploded" in results["boom"].detail


def test_module_level_api_uses_default_emitter(make_emitter: Make) -> None:
    emitter = make_emitter({"rec": Recorder})
    old = tocsin.set_default_emitter(emitter)
    try:
        alert = tocsin.emit_alert("CRITICAL", "t", "m", {"a": 1})
        assert tocsin.flush(1) is True
    finally:
        tocsin.set_default_emitter(old)
    assert emitter.sink("rec").alerts == [alert]  # type: ignore[union-attr]
    assert alert.severity is tocsin.Severity.CRITICAL


@pytest.mark.parametrize("escape", [SystemExit(3), SystemExit("bye"), GeneratorExit()])
def test_a_sink_raising_systemexit_is_isolated(make_emitter: Make, escape: BaseException) -> None:
    """Only Exception used to be caught: a sink's sys.exit() ended the caller's process."""

    class Exiting:
        @tocsin.hookimpl
        def alert_emitted(self, alert: Alert) -> None:
            raise escape

    emitter = make_emitter({"exiting": Exiting(), "rec": Recorder})
    if isinstance(escape, GeneratorExit):
        with pytest.raises(GeneratorExit):  # the interpreter's own control flow is not ours to swallow
            emitter.emit("critical", "t", "m")
        return
    emitter.emit("critical", "t", "m")
    assert emitter.sink("rec").titles == ["t"]  # type: ignore[union-attr]
    assert emitter.stats()["sinks"]["exiting"]["failures"] == 1


def test_keyboard_interrupt_from_a_sink_reaches_the_user(make_emitter: Make) -> None:
    class Interrupted:
        @tocsin.hookimpl
        def alert_emitted(self, alert: Alert) -> None:
            raise KeyboardInterrupt

    emitter = make_emitter({"ctrl_c": Interrupted()})
    with pytest.raises(KeyboardInterrupt):
        emitter.emit("info", "t", "m")


def test_strict_emitter_raises_tocsins_own_errors() -> None:
    """The errors tocsin raises to sink authors and tools are its own and name the culprit."""
    from tocsin import Config, ConfigError, SinkError, TocsinError

    class NoHook:  # registers, but implements no alert_emitted
        pass

    with pytest.raises(SinkError) as raised:
        Emitter(Config(environ={}), sinks={"empty": NoHook()}, discover=False, strict=True)
    assert raised.value.sink == "empty"
    assert "implements no alert_emitted" in raised.value.detail
    assert isinstance(raised.value, TocsinError)

    bad = Config(environ={}, sinks={"rec": {"min_severity": "loud"}})
    with pytest.raises(ConfigError) as config_error:
        Emitter(bad, sinks={"rec": Recorder}, discover=False, strict=True)
    assert [p.key for p in config_error.value.problems] == ["sinks.rec.min_severity"]

    # not strict: recorded, and emitting still works
    lenient = Emitter(Config(environ={}), sinks={"empty": NoHook(), "rec": Recorder}, discover=False)
    [empty] = [r for r in lenient.sinks() if r.name == "empty"]
    assert isinstance(empty.load_error, SinkError)
    lenient.emit("info", "t", "m")
    assert lenient.sink("rec").titles == ["t"]  # type: ignore[union-attr]
    lenient.close(0)
