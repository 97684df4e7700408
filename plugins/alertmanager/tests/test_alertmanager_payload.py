"""The wire format: labels, annotations and times as Alertmanager's API v2 takes them."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tocsin import Alert
from tocsin._alert import make_alert
from tocsin._duration import parse_duration
from tocsin.testing.contract import HOSTILE_ALERTS
from tocsin_sink_alertmanager import alert_payload, label_name

VALID_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
NOW = _dt.datetime(2026, 11, 29, 12, 0, 0, tzinfo=_dt.timezone.utc)


def test_labels_annotations_and_times() -> None:
    alert = make_alert("critical", "Disk full", "/var at 99%", {"queue": "mail", "mount": "/var", "n": 3})
    payload = alert_payload(alert, project="shop", label_keys=["queue", "n", "absent"], resolve_after=300,
                            generator_url="https://runbook.example/disk", now=alert.timestamp)
    assert payload["labels"] == {"alertname": "Disk full", "severity": "critical", "host": alert.host,
                                 "project": "shop", "queue": "mail", "n": "3"}
    assert payload["annotations"] == {"summary": "Disk full", "description": "/var at 99%",
                                      "context": json.dumps({"queue": "mail", "mount": "/var", "n": 3})}
    starts = _dt.datetime.fromisoformat(payload["startsAt"].replace("Z", "+00:00"))
    ends = _dt.datetime.fromisoformat(payload["endsAt"].replace("Z", "+00:00"))
    assert abs((starts - alert.timestamp).total_seconds()) < 0.001
    assert abs((ends - starts).total_seconds() - 300) < 0.002
    assert payload["startsAt"].endswith("Z")
    assert payload["generatorURL"] == "https://runbook.example/disk"


def test_context_labels_are_sanitised_and_never_replace_the_builtins() -> None:
    alert = make_alert("info", "t", "m", {"queue-name": "a", "9lives": "b", "host": "spoofed", "": "e"})
    payload = alert_payload(alert, project="p", label_keys=["queue-name", "9lives", "host", ""], now=NOW)
    labels = payload["labels"]
    assert labels["queue_name"] == "a"
    assert labels["_9lives"] == "b"
    assert labels["_"] == "e"
    assert labels["host"] == alert.host


def test_no_generator_url_unless_configured_and_an_untitled_alert_still_has_a_name() -> None:
    payload = alert_payload(make_alert("info", "", ""), project="p", now=NOW)
    assert "generatorURL" not in payload
    assert payload["labels"]["alertname"] == "untitled"


def test_a_resolved_alert_ends_now() -> None:
    fired = make_alert("warning", "Queue stuck", "m")
    resolved = dataclasses.replace(fired, status="resolved")
    later = fired.timestamp + _dt.timedelta(seconds=42)
    payload = alert_payload(resolved, project="p", resolve_after=300, now=later)
    assert payload["endsAt"] == later.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    firing = alert_payload(fired, project="p", resolve_after=300, now=later)
    assert firing["endsAt"] > payload["endsAt"]


@given(st.text())
def test_every_label_name_is_valid(key: str) -> None:
    assert VALID_NAME.match(label_name(key))


@given(st.dictionaries(st.text(max_size=20), st.one_of(st.text(), st.integers(), st.none()), max_size=8),
       st.text(max_size=200), st.text(max_size=200))
def test_any_alert_renders_to_valid_labels(context: dict[str, object], title: str, message: str) -> None:
    alert = make_alert("warning", title, message, context)
    payload = alert_payload(alert, project="p", label_keys=list(context), now=NOW)
    assert all(VALID_NAME.match(name) for name in payload["labels"])
    assert all(isinstance(v, str) and v for v in payload["labels"].values())
    json.dumps(payload, ensure_ascii=False).encode("utf-8")  # encodable: no lone surrogates
    assert payload["startsAt"] <= payload["endsAt"]


@pytest.mark.parametrize("alert", HOSTILE_ALERTS)
def test_hostile_alerts_render(alert: Alert) -> None:
    payload = alert_payload(alert, project="p", label_keys=list(alert.context), now=NOW)
    json.dumps(payload, ensure_ascii=False).encode("utf-8")
    assert all(VALID_NAME.match(name) for name in payload["labels"])


@pytest.mark.parametrize(("text", "seconds"), [
    ("30s", 30.0), ("10m", 600.0), ("1h", 3600.0), ("1h30m", 5400.0), ("45", 45.0), (90, 90.0), (1.5, 1.5),
    ("500ms", 0.5), (" 2D ", 172800.0), ("1w", 604800.0),
])
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5x", "m5", "-5m", True, None, "inf", "nan", "5m1", [5]])
def test_not_durations(text: object) -> None:
    assert parse_duration(text) is None
