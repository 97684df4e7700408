"""Alert → one line of text. No alert can produce more than one line."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Final

from tocsin import Alert

__all__ = ["CONTEXT_JSON_LIMIT", "escape_line", "format_jsonl", "format_text"]

CONTEXT_JSON_LIMIT: Final = 500
"""The seed cut the context's JSON at 500 characters; we keep the bound but keep the JSON valid."""

# C0 and C1 controls, DEL, and the Unicode line and paragraph separators: anything a reader
# (a terminal, `str.splitlines`, a log shipper) might take as the end of a line.
_UNSAFE: Final = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED: Final = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(match: re.Match[str]) -> str:
    ch = match.group()
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def escape_line(text: str) -> str:
    """``text`` with every control or line-separator character written as an escape (``\\n``,
    ``\\x1b``, ``\\u2028``), so that it stays on one line and cannot forge another."""
    return _UNSAFE.sub(_escape_char, text) if _UNSAFE.search(text) else text


def _context_json(context: Mapping[str, Any], text: str) -> str:
    if len(text) <= CONTEXT_JSON_LIMIT:
        return text
    # Too long: keep whole keys while they fit, long values shortened, and say what was cut.
    kept: dict[str, Any] = {}
    items = list(context.items())
    for i, (key, value) in enumerate(items):
        encoded = json.dumps(value, ensure_ascii=True)
        if len(encoded) > 120:
            value = encoded[:100] + "…"
        marker = {"…": f"{len(items) - i - 1} more keys cut"} if i < len(items) - 1 else {}
        trial = json.dumps({**kept, key[:100]: value, **marker}, ensure_ascii=True)
        if len(trial) > CONTEXT_JSON_LIMIT:
            kept["…"] = f"{len(items) - i} more keys cut"
            return json.dumps(kept, ensure_ascii=True)
        kept[key[:100]] = value
    return json.dumps(kept, ensure_ascii=True)  # pragma: no cover - shortened values always fit


def format_text(alert: Alert) -> str:
    """The seed's line: ``[timestamp] [SEVERITY] title: message {context JSON}`` and a newline;
    ``[RESOLVED]`` in place of the severity for a resolve, and `` (repeated N times since …)``
    after the message when repeat suppression held some back."""
    severity = "RESOLVED" if alert.resolved else alert.severity.value.upper()
    line = f"[{alert.timestamp_text}] [{severity}] {escape_line(alert.title)}: {escape_line(alert.message)}"
    if alert.repeats:
        line += f" ({alert.repeats_text()})"
    if alert.context:
        line += " " + _context_json(alert.context, alert.context_json)
    return line + "\n"


def format_jsonl(alert: Alert) -> str:
    """One JSON object (``Alert.to_dict()``) and a newline; ASCII-only, so no separator can hide in it."""
    return json.dumps(alert.to_dict(), ensure_ascii=True) + "\n"
