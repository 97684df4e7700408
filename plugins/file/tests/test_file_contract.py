"""tocsin-sink-file keeps the contract every sink keeps (tocsin.testing.contract)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tocsin.testing.contract import SinkContract
from tocsin_sink_file import FileSink


class TestFileSinkContract(SinkContract):
    sink_name = "file"
    sink_class = FileSink

    def sink_settings(self, tmp_path: Path, url: str) -> dict[str, Any]:
        return {"path": str(tmp_path / "alerts.log")}
