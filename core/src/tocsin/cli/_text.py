"""How the command line writes numbers, errors and problems: once, rounded, without empty tails."""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from typing import Any, Final

import structlog

from .._config import ConfigProblem
from .._redact import redact

__all__ = ["duration", "problem_text", "tidy", "tidy_event"]

# Keys of tocsin's diagnostics whose float values are seconds.
_DURATION_KEYS: Final = frozenset({"timeout", "delay", "wait", "elapsed", "retry_after", "linger", "seconds",
                                   "flush_timeout", "connect_timeout", "read_timeout", "after"})
_EMPTY_TAIL: Final = re.compile(r":\s*$")


def duration(seconds: float) -> str:
    """``10 s``, ``0.25 s``, ``123 s``: three significant digits at most, never ``9.999996``."""
    text = f"{seconds:.0f}" if abs(seconds) >= 100 else f"{seconds:.3g}"
    return f"{text} s"


def tidy(text: str) -> str:
    """An error text without an empty tail: ``HTTP 404: `` (a response with no body) → ``HTTP 404``."""
    return _EMPTY_TAIL.sub("", text)


def problem_text(problem: ConfigProblem) -> str:
    """``file: key: message``, or ``file: message`` for a problem of the whole file, redacted."""
    where = problem.source if problem.key in ("", "-") else f"{problem.source}: {problem.key}"
    return redact(f"{where}: {problem.message}")


def tidy_event(logger: Any, method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """A structlog processor for the command line's own output.

    The CLI prints every configuration problem itself, once and plainly, so the library's
    ``tocsin.config_problem`` events are dropped here; durations are rounded, and an error
    text that ends in an empty tail loses it.
    """
    if event.get("event") == "tocsin.config_problem":
        raise structlog.DropEvent
    for key, value in event.items():
        if isinstance(value, float) and key in _DURATION_KEYS:
            event[key] = duration(value)
        elif isinstance(value, str) and key in ("error", "last_error", "detail"):
            event[key] = tidy(value)
    return event
