"""Named sink instances: [sinks.NAME] with type, enable/disable by instance or type, routing
by matchers and send_resolved, and the configuration problems of each (with did-you-mean)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import structlog

import tocsin
from tocsin import Config, ConfigError, Emitter, load_config
from tocsin._config import parse_duration
from tocsin.testing import RecordingSink

Make = Callable[..., Emitter]


def recorder(emitter: Emitter, name: str) -> RecordingSink:
    sink = emitter.sink(name)
    assert isinstance(sink, RecordingSink), name
    return sink


def problems(emitter: Emitter) -> dict[str, tuple[str, str]]:
    return {p.key: (p.level, p.message) for p in emitter.config.problems}


def test_two_instances_of_one_plugin_each_with_its_own_settings(make_emitter: Make) -> None:
    emitter = make_emitter({"rec": RecordingSink}, sinks={
        "ops": {"type": "rec"}, "pager": {"type": "rec", "min_severity": "critical"}})
    assert {(r.name, r.type, r.loaded) for r in emitter.sinks()} == {("ops", "rec", True), ("pager", "rec", True)}
    ops, pager = recorder(emitter, "ops"), recorder(emitter, "pager")
    assert ops is not pager
    assert ops.settings is not None
    assert (ops.settings.name, ops.settings.type) == ("ops", "rec")
    emitter.emit("warning", "w", "m")
    emitter.emit("critical", "c", "m")
    assert ops.titles == ["w", "c"]
    assert pager.titles == ["c"]
    assert [r.to_dict()["type"] for r in emitter.sinks()] == ["rec", "rec"]


def test_a_plugin_without_table_runs_its_default_instance_and_old_tables_still_work(make_emitter: Make) -> None:
    emitter = make_emitter({"rec": RecordingSink, "other": RecordingSink}, sinks={"rec": {"min_severity": "warning"}})
    assert {(r.name, r.type) for r in emitter.sinks()} == {("rec", "rec"), ("other", "other")}
    emitter.emit("info", "i", "m")
    assert recorder(emitter, "rec").titles == []
    assert recorder(emitter, "other").titles == ["i"]


def test_declaring_an_instance_replaces_the_default_one_unless_its_table_is_kept(make_emitter: Make) -> None:
    replaced = make_emitter({"rec": RecordingSink}, sinks={"audit": {"type": "rec"}})
    assert [r.name for r in replaced.sinks()] == ["audit"]
    kept = make_emitter({"rec": RecordingSink}, sinks={"audit": {"type": "rec"}, "rec": {}})
    assert sorted(r.name for r in kept.sinks()) == ["audit", "rec"]


def test_enable_and_disable_name_instances_and_a_plugin_name_stands_for_all_of_them(make_emitter: Make) -> None:
    tables = {"ops": {"type": "rec"}, "pager": {"type": "rec"}}
    by_type = make_emitter({"rec": RecordingSink}, sinks=tables, enable=("rec",))
    assert all(r.loaded for r in by_type.sinks())
    one = make_emitter({"rec": RecordingSink}, sinks=tables, enable=("pager",))
    assert {r.name: r.loaded for r in one.sinks()} == {"ops": False, "pager": True}
    assert {r.name: r.reason for r in one.sinks()}["ops"] == "not in the enable list"
    off = make_emitter({"rec": RecordingSink}, sinks=tables, disable=("ops",))
    assert {r.name: r.loaded for r in off.sinks()} == {"ops": False, "pager": True}
    wins = make_emitter({"rec": RecordingSink}, sinks=tables, enable=("pager",), disable=("rec",))
    assert not any(r.loaded for r in wins.sinks())


def test_a_disabled_instance_never_loads_its_plugin(make_emitter: Make) -> None:
    loads: list[str] = []

    class Counting(RecordingSink):
        def __init__(self, settings: Any = None) -> None:
            loads.append(settings.name)
            super().__init__(settings)

    make_emitter({"rec": Counting}, sinks={"a": {"type": "rec"}, "b": {"type": "rec"}}, disable=("b",))
    assert loads == ["a"]


def test_a_module_like_sink_runs_as_one_instance_only(make_emitter: Make) -> None:
    shared = RecordingSink()  # an object, not a class: it cannot be built once per instance
    emitter = make_emitter({"rec": shared}, sinks={"rec": {}, "second": {"type": "rec"}})
    records = {r.name: r for r in emitter.sinks()}
    assert records["rec"].loaded
    assert not records["second"].loaded
    assert records["second"].error is not None
    assert "one instance only" in records["second"].error
    assert problems(emitter)["sinks.second.type"][0] == "error"
    emitter.emit("info", "once", "m")
    assert shared.titles == ["once"]


def test_an_unknown_type_is_an_error_naming_the_instance_with_a_suggestion(make_emitter: Make) -> None:
    emitter = make_emitter({"slack": RecordingSink}, sinks={"oncall": {"type": "slak"}})
    level, message = problems(emitter)["sinks.oncall.type"]
    assert level == "error"
    assert "unknown sink type 'slak'; did you mean 'slack'?" in message
    record = {r.name: r for r in emitter.sinks()}["oncall"]
    assert (record.type, record.loaded) == ("slak", False)
    assert record.error is not None
    assert "slak" in record.error
    with pytest.raises(ConfigError, match=r"sinks\.oncall\.type"):
        Emitter(Config(environ={}, sinks={"oncall": {"type": "slak"}}), sinks={"slack": RecordingSink},
                discover=False, strict=True)


def test_a_bad_matcher_is_an_error_and_that_instance_receives_nothing(make_emitter: Make) -> None:
    emitter = make_emitter({"rec": RecordingSink}, sinks={
        "bad": {"type": "rec", "matchers": ["severity=critical", "queue=~(ingest"]}, "good": {"type": "rec"}})
    level, message = problems(emitter)["sinks.bad.matchers"]
    assert level == "error"
    assert "queue=~(ingest" in message
    assert "receives no alerts" in message
    records = {r.name: r for r in emitter.sinks()}
    assert not records["bad"].loaded
    assert records["bad"].error is not None
    assert emitter.sink("bad") is None
    emitter.emit("critical", "c", "m", {"queue": "ingest"})
    assert recorder(emitter, "good").titles == ["c"]
    assert all(r.name != "bad" for r in emitter.check_sinks(1) if r.ok)


def test_matchers_route_alerts_in_the_fan_out(make_emitter: Make) -> None:
    emitter = make_emitter({"rec": RecordingSink}, sinks={
        "oncall": {"type": "rec", "matchers": ["severity=critical"]},
        "ingest": {"type": "rec", "matchers": ["queue=~ingest.*", "host!=nowhere"]},
        "all": {"type": "rec"}})
    emitter.emit("critical", "db down", "m")
    emitter.emit("warning", "backlog", "m", {"queue": "ingest-eu"})
    emitter.emit("warning", "backlog", "m", {"queue": "reingest"})
    assert recorder(emitter, "oncall").titles == ["db down"]
    assert [a.context["queue"] for a in recorder(emitter, "ingest").alerts] == ["ingest-eu"]
    assert len(recorder(emitter, "all").alerts) == 3
    assert {r.name: r.matchers for r in emitter.sinks()}["oncall"] == ('severity="critical"',)


def test_send_resolved_false_keeps_resolves_away(make_emitter: Make) -> None:
    emitter = make_emitter({"rec": RecordingSink}, sinks={"quiet": {"type": "rec", "send_resolved": False},
                                                          "loud": {"type": "rec"}})
    emitter.emit("critical", "db down", "m")
    resolved = emitter.emit("critical", "db down", "back", status="resolved")
    assert resolved.status == "resolved"
    assert resolved.resolved
    assert [a.status for a in recorder(emitter, "loud").alerts] == ["firing", "resolved"]
    assert [a.status for a in recorder(emitter, "quiet").alerts] == ["firing"]


@pytest.mark.parametrize(("text", "config", "key", "suggestion"), [
    ('[tocsin]\nenable = ["rec", "recc"]\n', {}, "tocsin.enable", "did you mean 'rec'?"),
    ('[tocsin]\ndisable = ["fiel"]\n', {}, "tocsin.disable", "did you mean 'file'?"),
    ("[sinks.fiel]\npath = 'x'\n", {}, "sinks.fiel", "did you mean 'file'?"),
    ("", {"TOCSIN_ENABLE": "rec,nope"}, "TOCSIN_ENABLE", "'nope'"),
    ("", {"TOCSIN_DISABLE": "stat"}, "TOCSIN_DISABLE", "did you mean 'state'?"),
])
def test_misspelt_sink_names_are_warnings_with_a_suggestion(
    tmp_path: Any, text: str, config: dict[str, str], key: str, suggestion: str
) -> None:
    path = tmp_path / "tocsin.toml"
    path.write_text(text)
    loaded = load_config(path, environ=config)
    with Emitter(loaded, sinks={"rec": RecordingSink, "file": RecordingSink, "state": RecordingSink},
                 discover=False) as emitter:
        found = [p for p in emitter.config.problems if p.key == key]
        assert len(found) == 1, emitter.config.problems
        assert found[0].level == "warning"
        assert suggestion in found[0].message
        if key.startswith("TOCSIN_"):
            assert found[0].source == "environment"


def test_correct_names_give_no_warning(tmp_path: Any) -> None:
    config = Config(environ={}, enable=("ops", "rec", "file"), disable=("state",),
                    sinks={"ops": {"type": "rec"}, "file": {}})
    with Emitter(config, sinks={"rec": RecordingSink, "file": RecordingSink, "state": RecordingSink},
                 discover=False) as emitter:
        assert emitter.config.problems == []


@pytest.mark.parametrize(("value", "seconds"), [
    ("30s", 30.0), ("10m", 600.0), ("1h", 3600.0), ("1h30m", 5400.0), ("250ms", 0.25), ("2d", 172800.0),
    (90, 90.0), (1.5, 1.5), ("45", 45.0), ("0", 0.0), (" 5M ", 300.0), ("1h 30m", 5400.0), ("1w", 604800.0),
    # Spelt-out units: the grammar `tocsin history --since` always accepted, now the only one.
    ("10min", 600.0), ("2 days", 172800.0), ("1 hour 30 minutes", 5400.0), ("90sec", 90.0),
])
def test_durations(value: object, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["", "1x", "h", "-5s", -1, True, [1], "1hh", "s1", float("nan")])
def test_bad_durations(value: object) -> None:
    assert parse_duration(value) is None


def test_a_bad_repeat_interval_is_a_problem_and_suppression_stays_off(make_emitter: Make) -> None:
    emitter = make_emitter({"rec": RecordingSink}, sinks={"rec": {"repeat_interval": "soon", "group_by": "title"}})
    found = problems(emitter)
    assert "sinks.rec.repeat_interval" in found
    assert "sinks.rec.group_by" in found
    record = emitter.sinks()[0]
    assert record.loaded
    assert record.repeat_interval == 0
    assert record.repeat is None


def test_log_events_name_the_instance_and_its_type(make_emitter: Make) -> None:
    class Failing(RecordingSink):
        @tocsin.hookimpl
        def alert_emitted(self, alert: tocsin.Alert) -> None:
            raise RuntimeError("boom")

    emitter = make_emitter({"rec": Failing}, sinks={"pager": {"type": "rec"}})
    with structlog.testing.capture_logs() as logs:
        emitter.emit("info", "t", "m")
    [event] = [e for e in logs if e["event"] == "tocsin.sink_failed"]
    assert (event["sink"], event["type"]) == ("pager", "rec")
