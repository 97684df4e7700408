"""tocsin-sink-webhook keeps the contract every sink keeps (tocsin.testing.contract)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tocsin.testing.contract import NetworkSinkContract
from tocsin_sink_webhook import WebhookSink


class TestWebhookSinkContract(NetworkSinkContract):
    sink_name = "webhook"
    sink_class = WebhookSink

    def sink_settings(self, tmp_path: Path, url: str) -> dict[str, Any]:
        return {"url": url, "secret": "whsec_c2VjcmV0LXNpZ25pbmcta2V5"}
