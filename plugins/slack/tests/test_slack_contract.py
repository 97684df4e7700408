"""tocsin-sink-slack keeps the contract every sink keeps (tocsin.testing.contract)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tocsin.testing.contract import NetworkSinkContract
from tocsin_sink_slack import SlackSink


class TestSlackSinkContract(NetworkSinkContract):
    sink_name = "slack"
    sink_class = SlackSink

    def sink_settings(self, tmp_path: Path, url: str) -> dict[str, Any]:
        return {"url": url, "min_interval": 0}  # the receiver has no 1/s limit
