from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tocsin._discovery import (
    PluginEntryPoint,
    _entry_points_txt,
    _from_importlib_metadata,
    _scan_sys_path,
    find_sink_entry_points,
)


def test_fast_scan_agrees_with_importlib_metadata() -> None:
    fast = sorted(_scan_sys_path("tocsin.sinks") or [], key=lambda e: e.name)
    reference = sorted(_from_importlib_metadata("tocsin.sinks"), key=lambda e: e.name)
    assert fast == reference
    assert {"file", "state"} <= {e.name for e in fast}


def test_entry_points_txt_parsing() -> None:
    text = """
[console_scripts]
tocsin = tocsin._cli:main

# a comment
[tocsin.sinks]
file = tocsin_sink_file:FileSink
 mod=pkg.module
[other]
x = y
"""
    assert _entry_points_txt(text) == [("file", "tocsin_sink_file:FileSink"), ("mod", "pkg.module")]


def test_load_module_and_attribute_paths() -> None:
    assert PluginEntryPoint("x", "tocsin._severity:Severity.INFO", None, None).load() == "info"
    import tocsin._severity

    assert PluginEntryPoint("x", "tocsin._severity", None, None).load() is tocsin._severity
    with pytest.raises(ModuleNotFoundError):
        PluginEntryPoint("x", "no_such_module_here:X", None, None).load()


def test_zip_on_sys_path_falls_back_to_importlib_metadata(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = tmp_path / "lib.zip"
    archive.write_bytes(b"PK\x05\x06" + b"\x00" * 18)  # an empty zip
    monkeypatch.setattr(sys, "path", [str(archive), *sys.path])
    assert _scan_sys_path("tocsin.sinks") is None
    assert {"file", "state"} <= {e.name for e in find_sink_entry_points()}
