"""render_hostile: a network sink's ``render`` run on the hostile alerts, without a server.

The engine sends what ``render`` returns through urllib3 and ``http.client``, which refuse a
header that is not latin-1 or holds a line break: such a message never leaves the process.
Checking each message here tells a sink author which alert and which field, in a unit test,
before any delivery runs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._alert import Alert
from .._config import SinkSettings
from ._hostile import HOSTILE_ALERTS, describe

if TYPE_CHECKING:
    from ..delivery import Message

__all__ = ["render_hostile"]

# RFC 9110 token: what http.client accepts as a header name.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# What http.client refuses in a header value: a line break not followed by folding whitespace.
_ILLEGAL_VALUE = re.compile(r"\n(?![ \t])|\r(?![ \t\n])")


def _around(value: str, index: int) -> str:
    """The part of a long value around ``index``, as a repr: what a reader needs to see."""
    start = max(0, index - 30)
    return ("…" if start else "") + repr(value[start : index + 20]) + ("…" if index + 20 < len(value) else "")


def _header_problem(name: object, value: object) -> str | None:
    if not isinstance(name, str) or not _TOKEN.fullmatch(name):
        return f"the header name {name!r} is not an HTTP token (letters, digits, !#$%&'*+-.^_`|~)"
    if not isinstance(value, str):
        return f"the header {name!r} has a {type(value).__name__} value {value!r}, expected str"
    try:
        value.encode("latin-1")
    except UnicodeEncodeError as exc:
        return (f"the header {name!r} = {_around(value, exc.start)} is not latin-1 ({value[exc.start]!r} at "
                f"{exc.start}): http.client cannot send it; encode it (RFC 2047 or percent-encoding)")
    if found := _ILLEGAL_VALUE.search(value):
        return (f"the header {name!r} = {_around(value, found.start())} holds a line break: http.client refuses "
                "it (and it would inject headers); encode or strip it")
    return None


def _message_problem(message: object) -> str | None:
    from ..delivery import Message

    if not isinstance(message, Message):
        return f"expected a tocsin.delivery.Message, received {type(message).__name__} {message!r:.100}"
    # Typed as object: a sink written without type checks can put anything in a Message.
    body: object = message.body
    count: object = message.count
    headers: object = message.headers
    if not isinstance(body, bytes):
        return f"expected body to be bytes, received {type(body).__name__}"
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        return f"expected count to be an int >= 1 (the alerts it carries), received {count!r}"
    if not isinstance(headers, Mapping):
        return f"expected headers to be a dict of str to str, received {type(headers).__name__}"
    for name, value in headers.items():
        problem = _header_problem(name, value)
        if problem:
            return problem
    url = getattr(message, "url", None)  # the optional per-message destination
    if url is not None:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            return f"expected url to be None or an http:// or https:// URL, received a {type(url).__name__}"
        if any(ord(c) < 33 or ord(c) == 127 for c in url):
            return "url holds a space or a control character: percent-encode what goes into it"
    return None


def render_hostile(sink_or_class: object, settings: dict[str, Any] | None = None) -> list[tuple[Alert, list[Message]]]:
    """Render each of the contract's hostile alerts alone with a network sink's ``render``, and
    check every message can go over HTTP; no server, no queue, no thread.

    ``sink_or_class`` is a sink instance, or its class (built with ``settings`` as its
    ``[sinks.NAME]`` table; without a ``url`` no delivery thread is ever started). Each message
    must be a :class:`tocsin.delivery.Message` whose ``body`` is bytes, ``count`` an int of at
    least 1, and whose ``headers`` are str names and latin-1 str values without line breaks
    (what ``http.client`` sends); each alert must give at least one message. Returns the
    ``(alert, messages)`` pairs, for the author's own checks of the shape. Raises
    :class:`AssertionError` naming the alert, the message and the field otherwise.
    """
    built = isinstance(sink_or_class, type)
    if built:
        cls: type = sink_or_class  # type: ignore[assignment]  # narrowed by isinstance above
        table = SinkSettings(cls.__name__.lower(), settings or {}, environ={})
        sink: Any = cls(table)
        errors = [str(p) for p in table.problems if p.level == "error"]
        if errors:
            raise AssertionError(f"{cls.__name__} reported problems with the settings {settings!r}: {errors}")
    elif settings is not None:
        raise TypeError("settings are for building a sink from its class: pass the class, or no settings")
    else:
        sink = sink_or_class
    label = type(sink).__name__
    render = getattr(sink, "render", None)
    if not callable(render):
        raise TypeError(f"{label} has no render(alerts) method: render_hostile is for network sinks "
                        "(tocsin.delivery.NetworkSink)")
    try:
        rendered: list[tuple[Alert, list[Message]]] = []
        for alert in HOSTILE_ALERTS:
            what = describe(alert)
            try:
                messages = render([alert])
            except Exception as exc:
                raise AssertionError(f"{label}.render() raised {type(exc).__name__}: {exc} for {what}; "
                                     "expected a list of Message") from exc
            if not isinstance(messages, list) or not messages:
                raise AssertionError(f"{label}.render() returned {messages!r:.100} for {what}; expected a "
                                     "non-empty list of Message (every alert must be represented)")
            for index, message in enumerate(messages):
                problem = _message_problem(message)
                if problem:
                    raise AssertionError(f"{label}.render() for {what}, message {index}: {problem}")
            rendered.append((alert, messages))
        return rendered
    finally:
        close = getattr(sink, "sink_close", None)
        if built and callable(close):
            close()  # a sink built here with a url has a destination (a thread) to stop
