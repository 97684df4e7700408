from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from tocsin import Config, Emitter
from tocsin._alert import make_alert
from tocsin.testing import Received, Receiver, Reply, always, rate_limited
from tocsin_sink_discord import DiscordSink, render_messages

WEBHOOK_PATH = "/api/webhooks/123456789012345678/tOkEn-ThAt-MuSt-NeVeR-LeAk_0123456789abcdefABCDEF"


def check_discord_limits(payload: dict[str, Any]) -> None:
    """Discord's documented limits, written out here independently of the sink's own table."""
    assert payload.get("content") or payload.get("embeds"), "empty message (50006)"
    assert len(payload["content"].strip()) <= 2000
    assert payload["allowed_mentions"] == {"parse": []}
    embeds = payload["embeds"]
    assert len(embeds) <= 10
    total = 0
    for embed in embeds:
        title = embed.get("title", "").strip()
        description = embed.get("description", "").strip()
        assert len(title) <= 256
        assert len(description) <= 4096
        fields = embed.get("fields", [])
        assert len(fields) <= 25
        for field in fields:
            assert 0 < len(field["name"].strip()) <= 256
            assert 0 < len(field["value"].strip()) <= 1024
        assert isinstance(embed["color"], int)
        assert 0 <= embed["color"] <= 0xFFFFFF
        assert "T" in embed["timestamp"]  # ISO 8601, not an epoch number
        total += len(title) + len(description) + sum(len(f["name"].strip()) + len(f["value"].strip()) for f in fields)
    assert total <= 6000


def delivered_titles(requests: list[Received]) -> list[str]:
    """The alert titles in ``requests``: one alert is the seed's content line, several are one
    embed title each."""
    out = []
    for request in requests:
        payload = request.json()
        if len(payload["embeds"]) == 1:
            out.append(payload["content"].split("**: ", 1)[1])
        else:
            out.extend(e["title"].split(": ", 1)[1] for e in payload["embeds"])
    return out


def emitter_for(url: str, **table: Any) -> Emitter:
    config = Config(environ={}, sinks={"discord": {"url": url, **table}})
    return Emitter(config, sinks={"discord": DiscordSink}, discover=False)


def test_single_alert_keeps_the_seed_shape() -> None:
    alert = make_alert("warning", "Disk almost full", "/var at 91%", {"mount": "/var", "pct": 91, "ok": True})
    [payload] = render_messages([alert], "AtoCore")
    assert payload["content"] == ":warning: **AtoCore warning**: Disk almost full"
    [embed] = payload["embeds"]
    assert embed["description"] == "/var at 91%"
    assert embed["timestamp"] == alert.timestamp.isoformat()
    assert embed["fields"] == [
        {"name": "mount", "value": "/var", "inline": True},
        {"name": "pct", "value": "91", "inline": True},
        {"name": "ok", "value": "true", "inline": True},  # JSON spelling, as every sink
    ]
    assert embed["color"] == 0xF1C40F
    check_discord_limits(payload)


def test_hostile_alert_truncated_visibly_within_every_limit() -> None:
    alert = make_alert("critical", "T" * 1000, "M" * 20_000, {f"key{i:02d}" + "k" * 300: "v" * 2000 for i in range(40)})
    [payload] = render_messages([alert], "AtoCore")
    check_discord_limits(payload)
    embed = payload["embeds"][0]
    assert "more chars]" in embed["description"]
    assert embed["fields"][-1]["name"] == "…"
    assert "more" in embed["fields"][-1]["value"]


def test_mentions_ping_nobody() -> None:
    alert = make_alert("critical", "@everyone look", "@here <@&123> <@456>", {"who": "@everyone"})
    [payload] = render_messages([alert], "AtoCore")
    assert payload["allowed_mentions"] == {"parse": []}
    assert "@everyone" in payload["content"]  # shown as text, pinging no one


def test_burst_coalesces_ten_embeds_per_message() -> None:
    alerts = [make_alert("info" if i % 2 else "critical", f"a{i}", "m" * 3000, {"i": i}) for i in range(23)]
    payloads = render_messages(alerts, "AtoCore")
    assert [len(p["embeds"]) for p in payloads] == [10, 10, 3]
    for p in payloads:
        check_discord_limits(p)
    assert payloads[0]["content"].startswith(":rotating_light: **AtoCore**: 10 alerts (5 critical, 5 info)")
    shown = [e["title"] for p in payloads for e in p["embeds"]]
    assert [t.split(": ", 1)[1] for t in shown] == [f"a{i}" for i in range(23)]  # every alert, in order


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=3000), st.text(max_size=6000),
                          st.dictionaries(st.text(max_size=400), st.text(max_size=1500), max_size=30)),
                min_size=1, max_size=12))
def test_any_alerts_render_within_limits(items: list[tuple[str, str, dict[str, str]]]) -> None:
    alerts = [make_alert("warning", t, m, c) for t, m, c in items]
    payloads = render_messages(alerts, "AtoCore")
    assert sum(len(p["embeds"]) for p in payloads) == len(alerts)
    for payload in payloads:
        check_discord_limits(payload)


def test_burst_of_200_against_discord_rate_limits_all_delivered_none_early() -> None:
    limiter = rate_limited(limit=5, window=2.0)
    accepted: list[Received] = []

    def respond(request: Received) -> Reply:
        reply = limiter(request)
        if reply.status < 300:  # a message answered 429 was not delivered: its retry is
            accepted.append(request)
        return reply

    with Receiver(respond) as receiver:
        emitter = emitter_for(receiver.url_for(WEBHOOK_PATH))
        start = time.perf_counter()
        for i in range(200):
            emitter.emit("warning", f"burst {i}", "queue pile-up")
        caller = time.perf_counter() - start
        assert emitter.flush(60)
        emitter.close(0)
    assert sorted(delivered_titles(accepted)) == sorted(f"burst {i}" for i in range(200))  # each exactly once
    assert limiter.early == 0
    assert limiter.limited <= 2  # paced by the headers, not by running into 429s
    assert caller < 1.0
    for request in receiver.requests:
        check_discord_limits(request.json())
        assert request.headers["user-agent"].startswith("tocsin/")


def test_deleted_webhook_stops_the_sink_with_one_critical_event() -> None:
    body = json.dumps({"message": "Unknown Webhook", "code": 10015}).encode()
    with Receiver(always(404, body)) as receiver:
        emitter = emitter_for(receiver.url_for(WEBHOOK_PATH))
        with capture_logs() as logs:
            for i in range(5):
                emitter.emit("critical", f"a{i}", "m")
                emitter.flush(5)
        status = emitter.sink_status("discord")
        emitter.close(0)
    assert len(receiver.requests) == 1
    gone = [e for e in logs if e["event"] == "tocsin.destination_gone"]
    assert len(gone) == 1
    assert gone[0]["log_level"] == "critical"
    assert "Unknown Webhook" in gone[0]["error"]
    assert status["gone"] is True
    assert "tOkEn" not in json.dumps(logs) + json.dumps(status)


@pytest.mark.parametrize(("project", "expected"), [("atocore", "AtoCore"), ("billing", "billing")])
def test_display_name_defaults(project: str, expected: str) -> None:
    config = Config(environ={}, project=project, sinks={"discord": {"url": "https://discord.com/api/webhooks/1/x"}})
    with Emitter(config, sinks={"discord": DiscordSink}, discover=False) as emitter:
        assert emitter.sink("discord").display_name == expected  # type: ignore[union-attr]
