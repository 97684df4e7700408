from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
import standardwebhooks
from structlog.testing import capture_logs

from tocsin import Config, Emitter
from tocsin.testing import Receiver, always, flaky
from tocsin_sink_webhook import WebhookSink

SECRET = "whsec_" + base64.b64encode(b"a-very-secret-signing-key-32byte").decode()


def emitter_for(url: str, environ: dict[str, str] | None = None, **table: Any) -> Emitter:
    config = Config(environ=environ or {}, sinks={"webhook": {"url": url, "backoff_base": 0.05, **table}})
    return Emitter(config, sinks={"webhook": WebhookSink}, discover=False)


def test_body_has_the_seed_keys_plus_id_host_status_and_repeats() -> None:
    with Receiver(always(200)) as receiver:
        emitter = emitter_for(receiver.url_for("/alerts"))
        alert = emitter.emit("CRITICAL", "Backup failed", "rsync 23", {"job": "nightly"})
        assert emitter.flush(10)
        emitter.close(0)
    [request] = receiver.requests
    assert request.path == "/alerts"
    assert request.headers["content-type"] == "application/json"
    assert request.json() == {
        "severity": "critical", "title": "Backup failed", "message": "rsync 23", "context": {"job": "nightly"},
        "timestamp": alert.timestamp_text, "id": alert.id, "host": alert.host, "status": "firing", "repeats": 0,
    }


def test_signatures_verify_with_the_reference_implementation_and_id_survives_retries() -> None:
    with Receiver(flaky(503, every=2, ok_status=200)) as receiver:
        emitter = emitter_for(receiver.url, secret=SECRET)
        alert = emitter.emit("warning", "signed", "m")
        assert emitter.flush(10)
        emitter.close(0)
    first, second = receiver.requests  # a 503, then the retry
    verifier = standardwebhooks.Webhook(SECRET)
    for request in (first, second):
        assert verifier.verify(request.body, request.headers)["id"] == alert.id
        assert request.headers["webhook-id"] == alert.id  # the receiver's idempotency key
        assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 60
    tampered = dict(second.headers)
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        verifier.verify(second.body.replace(b"signed", b"forged"), tampered)


def test_headers_from_environment_and_never_logged() -> None:
    token = "tok_" + "Z" * 30
    with Receiver(always(401, b"bad token")) as receiver:
        emitter = emitter_for(receiver.url, environ={"ALERT_TOKEN": token},
                              headers={"Authorization": "Bearer ${ALERT_TOKEN}"})
        with capture_logs() as logs:
            emitter.emit("info", "t", "m")
            assert emitter.flush(10)
        status = emitter.sink_status("webhook")
        emitter.close(0)
    assert receiver.requests[0].headers["authorization"] == f"Bearer {token}"
    assert any(e["event"] == "tocsin.delivery_rejected" and "bad token" in e["error"] for e in logs)
    assert token not in json.dumps(logs, default=str) + json.dumps(status)


def test_batch_sends_pending_alerts_together() -> None:
    with Receiver(always(200)) as receiver:
        emitter = emitter_for(receiver.url, batch=True)
        for i in range(30):
            emitter.emit("info", f"a{i}", "m")
        assert emitter.flush(10)
        emitter.close(0)
    titles = [a["title"] for r in receiver.requests for a in (r.json()["alerts"] if "alerts" in r.json() else
                                                              [r.json()])]
    assert titles == [f"a{i}" for i in range(30)]
    assert len(receiver.requests) < 30


def test_bad_secret_and_header_are_config_errors() -> None:
    with emitter_for("http://127.0.0.1:9/", secret="whsec_%%%", headers={"X-A": "a\r\nInjected: 1"}) as emitter:
        assert sorted(p.key for p in emitter.config.errors) == ["sinks.webhook.headers.X-A", "sinks.webhook.secret"]
