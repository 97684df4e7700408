from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from tocsin import Config, Emitter
from tocsin._alert import make_alert
from tocsin.testing import Receiver, Reply, always
from tocsin_sink_slack import SlackSink, escape, render_messages

HOOK_PATH = "/services/T00000000/B00000000/XXXXsecretXXXXsecretXXXX"


def mrkdwn_texts(payload: dict[str, Any]) -> list[str]:
    texts = [payload["text"]]
    for block in payload["blocks"]:
        if block["type"] == "section":
            if "text" in block:
                texts.append(block["text"]["text"])
            texts.extend(f["text"] for f in block.get("fields", []))
        elif block["type"] == "context":
            texts.extend(e["text"] for e in block["elements"])
    return texts


def check_slack_limits(payload: dict[str, Any]) -> None:
    """Slack's documented Block Kit limits, written out independently of the sink."""
    assert payload["text"].strip()  # a fallback whenever blocks are sent
    assert len(payload["text"]) <= 40_000
    assert len(payload["blocks"]) <= 50
    for block in payload["blocks"]:
        if block["type"] == "header":
            assert block["text"]["type"] == "plain_text"
            assert 0 < len(block["text"]["text"]) <= 150
        elif block["type"] == "section":
            if "text" in block:
                assert 1 <= len(block["text"]["text"]) <= 3000
            fields = block.get("fields", [])
            assert len(fields) <= 10
            assert all(1 <= len(f["text"]) <= 2000 for f in fields)
        elif block["type"] == "context":
            assert 1 <= len(block["elements"]) <= 10
    for text in mrkdwn_texts(payload):
        # no control sequence can come from alert text: every < is ours or escaped
        assert not re.search(r"<[!@#]", text), text


def emitter_for(url: str, **table: Any) -> Emitter:
    config = Config(environ={}, sinks={"slack": {"url": url, "min_interval": 0.05, **table}})
    return Emitter(config, sinks={"slack": SlackSink}, discover=False)


def test_shape_and_escaping() -> None:
    alert = make_alert("critical", "DB down <!channel>", "a & b <@U123> <!here|here>", {"<k>": "v&"})
    [payload] = render_messages([alert], "AtoCore")
    check_slack_limits(payload)
    assert payload["text"] == ":rotating_light: AtoCore critical: DB down &lt;!channel&gt;"
    header, section, fields, context = payload["blocks"]
    assert header["text"]["text"] == "CRITICAL: DB down <!channel>"  # plain_text: shown, never parsed
    assert section["text"]["text"] == "a &amp; b &lt;@U123&gt; &lt;!here|here&gt;"
    assert fields["fields"] == [{"type": "mrkdwn", "text": "*&lt;k&gt;*\nv&amp;"}]
    assert "AtoCore" in context["elements"][0]["text"]


def test_escape_touches_only_the_three_characters() -> None:
    assert escape("*bold* _it_ `code` & < > \" '") == "*bold* _it_ `code` &amp; &lt; &gt; \" '"


def test_hostile_alert_within_limits() -> None:
    alert = make_alert("warning", "T" * 1000, "<" * 20_000, {f"k{i}": "&" * 3000 for i in range(40)})
    [payload] = render_messages([alert], "AtoCore")
    check_slack_limits(payload)
    fields = payload["blocks"][2]["fields"]
    assert fields[-1]["text"] == "… 31 more"


def test_burst_coalesces_ten_alerts_per_message() -> None:
    alerts = [make_alert("info", f"a{i}", "m", {"i": i}) for i in range(25)]
    payloads = render_messages(alerts, "AtoCore")
    assert [sum(b["type"] == "header" for b in p["blocks"]) for p in payloads] == [10, 10, 5]
    for p in payloads:
        check_slack_limits(p)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=500), st.text(max_size=5000),
                          st.dictionaries(st.text(max_size=100), st.text(max_size=3000), max_size=15)),
                min_size=1, max_size=25))
def test_any_alerts_render_within_limits(items: list[tuple[str, str, dict[str, str]]]) -> None:
    payloads = render_messages([make_alert("info", t, m, c) for t, m, c in items], "AtoCore")
    assert sum(sum(b["type"] == "header" for b in p["blocks"]) for p in payloads) == len(items)
    for payload in payloads:
        check_slack_limits(payload)


def test_ok_is_success_and_plain_text_errors_are_reported_verbatim() -> None:
    with Receiver(always(400, b"invalid_blocks")) as receiver:
        emitter = emitter_for(receiver.url_for(HOOK_PATH))
        with capture_logs() as logs:
            emitter.emit("info", "t", "m")
            assert emitter.flush(10)
        emitter.close(0)
    [event] = [e for e in logs if e["event"] == "tocsin.delivery_rejected"]
    assert event["error"] == "HTTP 400: invalid_blocks"
    assert "XXXXsecret" not in json.dumps(logs)

    with Receiver(always(200, b"ok")) as receiver:
        emitter = emitter_for(receiver.url_for(HOOK_PATH))
        emitter.emit("info", "t", "m")
        assert emitter.flush(10)
        assert emitter.sink_status("slack")["delivered"] == 1
        emitter.close(0)
    assert receiver.requests[0].json()["text"].endswith("info: t")


def test_revoked_hook_stops_the_sink() -> None:
    with Receiver(always(404, b"no_service")) as receiver:
        emitter = emitter_for(receiver.url_for(HOOK_PATH))
        with capture_logs() as logs:
            for _ in range(3):
                emitter.emit("critical", "t", "m")
                emitter.flush(5)
        emitter.close(0)
    assert len(receiver.requests) == 1
    assert [e["error"] for e in logs if e["event"] == "tocsin.destination_gone"] == ["HTTP 404: no_service"]


def test_429_retry_after_is_honoured() -> None:
    calls = []

    def respond(request: Any) -> Reply:
        calls.append(request.at)
        if len(calls) == 1:
            return Reply(429, {"Retry-After": "1"}, b"rate_limited")
        return Reply(200, {}, b"ok")

    with Receiver(respond) as receiver:
        emitter = emitter_for(receiver.url_for(HOOK_PATH))
        emitter.emit("info", "t", "m")
        assert emitter.flush(10)
        emitter.close(0)
    assert len(calls) == 2
    assert calls[1] - calls[0] >= 1.0
