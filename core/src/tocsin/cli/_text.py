"""How the command line writes numbers, errors and problems: once, rounded, without empty tails."""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from typing import Any, Final

import structlog

from .._config import ConfigProblem
from .._redact import redact

__all__ = ["SECRET_KEYS", "duration", "is_secret_key", "problem_text", "tidy", "tidy_event"]

SECRET_KEYS: Final = frozenset({"url", "urls", "secret", "headers", "token", "password"})
# Parts of a key's name that say it may hold a credential (bearer_token, basic_auth, api_key,
# a misspelt basic_auth_password): matched anywhere in the name, not only as the whole name,
# because a sink that is disabled or failed to load has registered none of its secrets.
_SECRET_WORDS: Final = ("url", "secret", "header", "token", "password", "passwd", "auth", "key", "cookie",
                        "credential")


def is_secret_key(key: str) -> bool:
    """Whether the setting ``key`` (dotted or not) may hold a credential, by its last part's name."""
    name = key.rsplit(".", 1)[-1].lower()
    return name in SECRET_KEYS or any(word in name for word in _SECRET_WORDS)
"""Keys whose values are never printed, whatever their type."""

# Keys of tocsin's diagnostics whose float values are seconds.
_DURATION_KEYS: Final = frozenset({"timeout", "delay", "wait", "elapsed", "retry_after", "linger", "seconds",
                                   "flush_timeout", "connect_timeout", "read_timeout", "after"})
_EMPTY_TAIL: Final = re.compile(r":\s*$")


def duration(seconds: float) -> str:
    """``10 s``, ``0.25 s``, ``123 s``: two significant digits (whole seconds from 100 s), never
    ``9.999996``: what is left of a deadline is a rough figure, and printed as one."""
    if abs(seconds) < 1e-4:  # below what .2g writes without an exponent: nothing worth a digit
        return "0 s"
    # From 99.5 s, .2g would write 1e+02: whole seconds there.
    text = f"{seconds:.0f}" if abs(seconds) >= 99.5 else f"{seconds:.2g}"
    return f"{text} s"


def tidy(text: str) -> str:
    """An error text without an empty tail: ``HTTP 404: `` (a response with no body) → ``HTTP 404``."""
    return _EMPTY_TAIL.sub("", text)


def problem_text(problem: ConfigProblem) -> str:
    """``file: key: message``, or ``file: message`` for a problem of the whole file, redacted.

    For a key that may hold a secret the value the message quotes is cut off: ``secret = 12345``
    (a number where a string was expected) must not print the number.
    """
    where = problem.source if problem.key in ("", "-") else f"{problem.source}: {problem.key}"
    message = problem.message
    if SECRET_KEYS & set(problem.key.lower().split(".")) or is_secret_key(problem.key):
        head, sep, _ = message.partition(", got ")
        message = head + (", got something else (not shown: this key may hold a secret)" if sep else "")
    return redact(f"{where}: {message}")


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
