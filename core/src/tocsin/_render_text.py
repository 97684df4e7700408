"""One rule for writing a context value as text, shared by every sink that shows values one by one.

Sinks that write the whole context as JSON (file, state, webhook) spell values as JSON already;
the chat sinks show each value on its own. Before this rule a boolean was ``True`` on Discord and
``true`` on Slack: now every sink writes ``true``, ``null`` and numbers as JSON does, and
strings as they are (no quotes), so an operator reads the same value wherever it arrives.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Final

__all__ = ["TEST_ALERT_KEY", "context_value_text", "is_test_context"]

TEST_ALERT_KEY: Final = "tocsin_test"
"""The context key that marks a test alert (``{"tocsin_test": true}``, sent by ``tocsin test``).
Views of past alerts (``tocsin last``, history) leave such alerts out unless asked."""


def context_value_text(value: object) -> str:
    """``value`` as text by JSON's spelling: a string as it is, anything else as JSON
    (``true``, ``null``, ``3``, ``0.5``, ``["a", "b"]``), non-ASCII characters kept."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):  # an Alert's context is JSON-safe; a caller's dict may not be
        return str(value)


def is_test_context(context: object) -> bool:
    """Whether ``context`` (``Alert.context``, or a stored alert's context) marks a test alert."""
    return isinstance(context, Mapping) and context.get(TEST_ALERT_KEY) is True
