"""tocsin-sink-state keeps the contract every sink keeps (tocsin.testing.contract)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tocsin.testing.contract import SinkContract
from tocsin_sink_state import StateSink


class TestStateSinkContract(SinkContract):
    sink_name = "state"
    sink_class = StateSink

    def sink_settings(self, tmp_path: Path, url: str) -> dict[str, Any]:
        return {"path": str(tmp_path / "state.db")}
