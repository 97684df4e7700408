"""tocsin-sink-alertmanager keeps the contract every sink keeps (tocsin.testing.contract)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tocsin import Emitter
from tocsin.testing import Receiver
from tocsin.testing.contract import SECRET_TOKEN, NetworkSinkContract
from tocsin_sink_alertmanager import API_PATH, AlertmanagerSink


class TestAlertmanagerSinkContract(NetworkSinkContract):
    sink_name = "alertmanager"
    sink_class = AlertmanagerSink

    def sink_settings(self, tmp_path: Path, url: str) -> dict[str, Any]:
        return {"url": url, "labels": ["queue"], "resolve_after": "1m", "bearer_token": "contract-token-123456"}

    def test_delivers_to_its_url(self, emitter: Emitter, receiver: Receiver) -> None:
        # The contract's own check expects the POST at the URL itself; an Alertmanager URL is a
        # base (as in Prometheus's configuration), and the API path goes after it.
        emitter.emit("warning", "delivered?", "m")
        assert emitter.flush(10)
        assert receiver.wait_for(1, 5)
        assert receiver.requests[0].path == f"/hook/{SECRET_TOKEN}{API_PATH}"
