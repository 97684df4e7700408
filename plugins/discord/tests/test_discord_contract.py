"""tocsin-sink-discord keeps the contract every sink keeps (tocsin.testing.contract)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tocsin.testing.contract import NetworkSinkContract
from tocsin_sink_discord import DiscordSink


class TestDiscordSinkContract(NetworkSinkContract):
    sink_name = "discord"
    sink_class = DiscordSink

    def sink_settings(self, tmp_path: Path, url: str) -> dict[str, Any]:
        return {"url": url}
