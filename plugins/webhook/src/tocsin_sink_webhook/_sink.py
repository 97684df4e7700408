"""The generic webhook sink: the seed's JSON body, Standard Webhooks signatures, extra headers."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

from tocsin import Alert, SinkSettings, register_secret
from tocsin.delivery import Message, NetworkSink

__all__ = ["WebhookSink", "alert_payload", "sign_standard_webhooks"]


def alert_payload(alert: Alert) -> dict[str, Any]:
    """The seed's keys (its timestamp format included) plus ``id``, ``host``, ``status``
    ("firing" or "resolved") and ``repeats`` (alerts of the same group held back by repeat
    suppression, with ``repeats_since`` when not 0)."""
    payload: dict[str, Any] = {
        "severity": alert.severity.value,
        "title": alert.title,
        "message": alert.message,
        "context": alert.context,
        "timestamp": alert.timestamp_text,
        "id": alert.id,
        "host": alert.host,
        "status": alert.status,
        "repeats": alert.repeats,
    }
    if alert.repeats_since is not None:
        payload["repeats_since"] = alert.repeats_since.strftime("%Y-%m-%dT%H:%M:%SZ")
    return payload


def sign_standard_webhooks(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value: ``v1,`` + base64 HMAC-SHA256 of ``id.timestamp.body``."""
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


class WebhookSink(NetworkSink):
    """Posts alerts as JSON to any URL; see the package docstring."""

    def configure(self, settings: SinkSettings) -> None:
        self.batch = settings.get_bool("batch", False)
        self._extra_headers = settings.get_str_map("headers")
        for name, value in list(self._extra_headers.items()):
            if any(c in name + value for c in "\r\n"):
                settings.problem(f"headers.{name}", "a header may not contain a line break")
                del self._extra_headers[name]
            else:
                register_secret(value)
        secret = settings.get_str("secret")
        self._key: bytes | None = None
        if secret:
            register_secret(secret)
            encoded = secret.removeprefix("whsec_")
            try:  # secrets are often published without their base64 padding
                self._key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
            except (binascii.Error, ValueError):
                settings.problem("secret", "expected a Standard Webhooks secret: whsec_ and base64")

    def headers(self) -> Mapping[str, str]:
        return self._extra_headers

    def render(self, alerts: list[Alert]) -> list[Message]:
        if self.batch and len(alerts) > 1:
            body = json.dumps({"alerts": [alert_payload(a) for a in alerts]}, ensure_ascii=False)
            return [Message(body.encode("utf-8"), count=len(alerts))]
        return [
            Message(json.dumps(alert_payload(a), ensure_ascii=False).encode("utf-8"), count=1, id=a.id)
            for a in alerts
        ]

    def sign(self, message: Message) -> Mapping[str, str]:
        if self._key is None:
            return {}
        timestamp = int(time.time())  # of this attempt: receivers reject stale timestamps
        return {
            "webhook-id": message.id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign_standard_webhooks(self._key, message.id, timestamp, message.body),
        }
