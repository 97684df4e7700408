"""The seed is the compatibility contract: its log lines, run side by side with tocsin's.

tests/seed/alerts_seed.py is the seed module, verbatim; it runs here against a stand-in for
the `atocore` logger it imports.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import structlog
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tocsin import Config, Emitter
from tocsin_sink_file import FileSink

SEED = Path(__file__).parent / "seed" / "alerts_seed.py"
STAMP = re.compile(r"^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\]")


@pytest.fixture(scope="module")
def seed() -> types.ModuleType:
    logger_mod = types.ModuleType("atocore.observability.logger")
    logger_mod.get_logger = structlog.get_logger  # type: ignore[attr-defined]
    for name in ("atocore", "atocore.observability"):
        sys.modules.setdefault(name, types.ModuleType(name))
    sys.modules["atocore.observability.logger"] = logger_mod
    spec = importlib.util.spec_from_file_location("alerts_seed", SEED)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def seed_line(seed: types.ModuleType, path: Path, monkeypatch: pytest.MonkeyPatch, *args: Any) -> str:
    path.unlink(missing_ok=True)
    monkeypatch.setenv("ATOCORE_ALERT_LOG", str(path))
    monkeypatch.delenv("ATOCORE_ALERT_WEBHOOK", raising=False)
    seed.emit_alert(*args)
    return STAMP.sub("[TS]", path.read_text())


def tocsin_line(path: Path, *args: Any) -> str:
    path.unlink(missing_ok=True)
    with Emitter(Config(environ={}, sinks={"file": {"path": str(path)}}), sinks={"file": FileSink},
                 discover=False) as emitter:
        emitter.emit(*args)
    return STAMP.sub("[TS]", path.read_text())


safe_text = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=80)
json_value = st.none() | st.booleans() | st.integers(-10**6, 10**6) | safe_text


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    severity=st.sampled_from(["info", "warning", "critical", "INFO", "Warning", "bogus", ""]),
    title=safe_text,
    message=safe_text,
    # The seed passed context to its logger as **kwargs: these keys made the seed itself raise.
    context=st.none() | st.dictionaries(safe_text.filter(lambda k: k not in {"event", "title", "message"}),
                                        json_value, max_size=4),
)
def test_file_line_identical_to_the_seed(seed: types.ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         severity: str, title: str, message: str,
                                         context: dict[str, Any] | None) -> None:
    if context and len(json.dumps(context, ensure_ascii=True)) > 500:
        return  # the seed cut the JSON mid-token there; tocsin keeps it valid (tested in the file sink)
    expected = seed_line(seed, tmp_path / "seed.log", monkeypatch, severity, title, message, context)
    assert tocsin_line(tmp_path / "tocsin.log", severity, title, message, context) == expected


def test_newline_in_title_is_where_tocsin_differs_on_purpose(seed: types.ModuleType, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    forged = "ok\n[2026-01-01T00:00:00Z] [CRITICAL] forged"
    assert seed_line(seed, tmp_path / "s.log", monkeypatch, "info", forged, "m").count("\n") == 2  # the seed's hole
    assert tocsin_line(tmp_path / "t.log", "info", forged, "m").count("\n") == 1
