"""The pytest fixtures tocsin ships for sink authors, used as an author would."""

from __future__ import annotations

from collections.abc import Callable

import tocsin
from tocsin import Emitter
from tocsin.testing import Receiver
from tocsin.testing.fixtures import CapturedAlerts

# Authors enable them with pytest_plugins = ["tocsin.testing.fixtures"]; this repository's
# pytest configuration loads the plugin with -p for every test.


def test_captured_alerts(captured_alerts: CapturedAlerts) -> None:
    alert = captured_alerts.emitter.emit("warning", "t", "m")
    assert captured_alerts.alerts == [alert]


def test_make_emitter_is_isolated(make_emitter: Callable[..., Emitter]) -> None:
    emitter = make_emitter({"rec": tocsin.testing.RecordingSink}, sinks={"rec": {"min_severity": "critical"}})
    emitter.emit("info", "ignored", "m")
    emitter.emit("critical", "kept", "m")
    assert [r.name for r in emitter.sinks()] == ["rec"]  # nothing discovered
    assert emitter.sink("rec").titles == ["kept"]  # type: ignore[union-attr]


def test_receiver(receiver: Receiver, make_emitter: Callable[..., Emitter]) -> None:
    from tocsin_sink_webhook import WebhookSink

    emitter = make_emitter({"webhook": WebhookSink}, sinks={"webhook": {"url": receiver.url_for("/in")}})
    emitter.emit("info", "t", "m")
    assert emitter.flush(10)
    assert receiver.requests[0].path == "/in"
