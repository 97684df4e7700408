"""Resolved alerts and repeat counts in the alert log."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

from tocsin._alert import make_alert
from tocsin_sink_file import format_jsonl, format_text


def test_resolved_in_place_of_the_severity() -> None:
    alert = make_alert("critical", "db down", "back", {"by": "ops"}, status="resolved")
    assert format_text(alert) == f'[{alert.timestamp_text}] [RESOLVED] db down: back {{"by": "ops"}}\n'
    assert json.loads(format_jsonl(alert))["status"] == "resolved"


def test_a_firing_line_is_unchanged_and_repeats_follow_the_message() -> None:
    alert = make_alert("warning", "t", "m")
    assert format_text(alert) == f"[{alert.timestamp_text}] [WARNING] t: m\n"
    since = dt.datetime(2026, 11, 29, 13, 0, tzinfo=dt.timezone.utc)
    counted = dataclasses.replace(alert, repeats=3, repeats_since=since)
    assert format_text(counted).endswith("t: m (repeated 3 times since 2026-11-29T13:00:00Z)\n")
    assert json.loads(format_jsonl(counted))["repeats"] == 3
