"""Resolved alerts and repeat counts as Slack shows them."""

from __future__ import annotations

import dataclasses
import datetime as dt

from tocsin._alert import make_alert
from tocsin_sink_slack import render_messages


def test_a_resolve_says_resolved_with_a_green_check() -> None:
    [payload] = render_messages([make_alert("critical", "db down", "back", status="resolved")], "AtoCore")
    assert payload["text"] == ":white_check_mark: AtoCore RESOLVED: db down"
    assert payload["blocks"][0]["text"]["text"] == "RESOLVED: db down"
    context = payload["blocks"][-1]["elements"][0]["text"]
    assert context.startswith(":white_check_mark: *AtoCore* · critical · resolved")


def test_repeats_are_on_the_context_line() -> None:
    since = dt.datetime(2026, 11, 29, 13, 0, tzinfo=dt.timezone.utc)
    alert = dataclasses.replace(make_alert("warning", "backlog", "m"), repeats=1, repeats_since=since)
    [payload] = render_messages([alert], "AtoCore")
    assert payload["blocks"][-1]["elements"][0]["text"].endswith("· repeated 1 time since 2026-11-29T13:00:00Z")


def test_a_coalesced_fallback_names_resolves() -> None:
    [payload] = render_messages([make_alert("critical", "a", "m"), make_alert("critical", "a", "m", status="resolved")],
                                "AtoCore")
    assert payload["text"] == "2 alerts from AtoCore: critical: a; RESOLVED: a"
