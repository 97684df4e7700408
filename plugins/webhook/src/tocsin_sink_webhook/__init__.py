"""tocsin-sink-webhook: alerts as JSON POSTs to any URL, optionally signed.

The body has the seed's keys — ``severity``, ``title``, ``message``, ``context``,
``timestamp`` — plus ``id`` and ``host``. With ``batch = true``, alerts that pile up go
together as ``{"alerts": [...]}``. With ``secret = "whsec_…"`` every request is signed per the
Standard Webhooks spec: ``webhook-id`` (the alert id, the same on every retry: the receiver's
idempotency key), ``webhook-timestamp`` and ``webhook-signature`` (``v1,`` + base64
HMAC-SHA256 of ``id.timestamp.body``).

Settings (``[sinks.webhook]``): ``url``, ``secret``, ``headers`` (a table; e.g.
``{Authorization = "Bearer ${TOKEN}"}``), ``batch``, and every :class:`tocsin.delivery.NetworkSink`
setting. Any value may be written ``${ENV_VAR}``.
"""

from __future__ import annotations

from ._sink import WebhookSink, alert_payload, sign_standard_webhooks

__all__ = ["WebhookSink", "alert_payload", "sign_standard_webhooks"]
