"""Resolved alerts and repeat counts as Discord shows them."""

from __future__ import annotations

import dataclasses
import datetime as dt

from tocsin._alert import make_alert
from tocsin_sink_discord import render_messages
from tocsin_sink_discord._render import COLOUR, LIMITS, RESOLVED_COLOUR


def test_a_resolve_is_green_and_says_resolved() -> None:
    [payload] = render_messages([make_alert("critical", "db down", "back", status="resolved")], "AtoCore")
    assert payload["content"] == ":white_check_mark: **AtoCore** RESOLVED: db down"
    assert payload["embeds"][0]["color"] == RESOLVED_COLOUR != COLOUR[make_alert("critical", "t", "m").severity]


def test_a_firing_alert_keeps_the_seed_shape() -> None:
    [payload] = render_messages([make_alert("warning", "disk", "90%")], "AtoCore")
    assert payload["content"] == ":warning: **AtoCore warning**: disk"
    assert "footer" not in payload["embeds"][0]


def test_repeats_go_in_the_footer_within_the_limits() -> None:
    since = dt.datetime(2026, 11, 29, 13, 0, tzinfo=dt.timezone.utc)
    alert = dataclasses.replace(make_alert("critical", "t" * 2000, "m" * 9000, {f"k{i}": "v" * 900 for i in range(40)}),
                                repeats=59, repeats_since=since)
    for group in ([alert], [alert] * 10):
        for payload in render_messages(group, "AtoCore"):
            for embed in payload["embeds"]:
                assert embed["footer"]["text"] == "repeated 59 times since 2026-11-29T13:00:00Z"
            total = sum(len(e.get("title", "")) + len(e["description"]) + len(e["footer"]["text"])
                        + sum(len(f["name"]) + len(f["value"]) for f in e.get("fields", []))
                        for e in payload["embeds"])
            assert total <= LIMITS["total"]
