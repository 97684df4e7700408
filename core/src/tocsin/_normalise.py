"""Turning whatever a caller passes into safe text and JSON-safe context, without ever raising.

Every function here is total: it returns a value for any input, including objects whose
``__str__`` raises, self-referencing containers, lone surrogates and huge values. The
limits below bound the memory one alert can hold, whatever the caller passes.
"""

from __future__ import annotations

import datetime as _dt
import enum
import math
import re
from collections.abc import Mapping, Set
from typing import Any, Final

__all__ = [
    "MAX_CONTAINER_ITEMS",
    "MAX_DEPTH",
    "MAX_MESSAGE_CHARS",
    "MAX_TITLE_CHARS",
    "MAX_VALUE_CHARS",
    "FrozenDict",
    "normalise_context",
    "to_text",
    "truncate",
]

MAX_TITLE_CHARS: Final = 1_000
MAX_MESSAGE_CHARS: Final = 100_000
MAX_VALUE_CHARS: Final = 4_000
MAX_CONTAINER_ITEMS: Final = 200
MAX_DEPTH: Final = 8

_SURROGATE = re.compile("[\ud800-\udfff]")


class FrozenDict(dict[str, Any]):
    """A ``dict`` that refuses every change after it is built.

    Still a ``dict`` (so ``json.dumps`` accepts it as it is), but an alert's context cannot be
    altered by one sink behind the back of the next.
    """

    __slots__ = ()

    def _refuse(self, *args: object, **kwargs: object) -> Any:
        raise TypeError("an alert's context is read-only")

    __setitem__ = __delitem__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse
    __ior__ = _refuse

    def __reduce__(self) -> tuple[Any, ...]:
        # dict's own pickling would call __setitem__ on a fresh instance.
        return (FrozenDict, (dict(self),))


def truncate(text: str, limit: int, marker: str = "…[{n} more chars]") -> str:
    """Cut ``text`` to at most ``limit`` characters, ending with a marker that says how much went.

    The result, marker included, is never longer than ``limit``.
    """
    if len(text) <= limit:
        return text
    # The marker's own length depends on n; two rounds settle it.
    cut = limit
    for _ in range(2):
        tail = marker.format(n=len(text) - cut)
        cut = max(0, limit - len(tail))
    return text[:cut] + marker.format(n=len(text) - cut)[: limit - cut]


def _clean_str(text: str) -> str:
    # Lone surrogates cannot be encoded as UTF-8: every sink would have to handle them.
    # Replace them once here so that sinks can rely on encodable text.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = _SURROGATE.sub("\ufffd", text)
    return text


def to_text(value: object, limit: int = MAX_VALUE_CHARS) -> str:
    """Return ``value`` as text that encodes as UTF-8, at most ``limit`` characters.

    None is the empty string; bytes are decoded as UTF-8 with replacement; any other object
    is ``str(value)``, or a placeholder naming its type when its ``__str__`` raises.
    """
    if isinstance(value, str):
        text = value
    elif value is None:
        return ""
    elif isinstance(value, (bytes, bytearray, memoryview)):
        text = bytes(value).decode("utf-8", "replace")
    else:
        try:
            text = str(value)
            if not isinstance(text, str):  # a __str__ that returns a non-str
                raise TypeError
        except Exception:
            return f"<unprintable {_type_name(value)}>"
    return truncate(_clean_str(text), limit)


def _type_name(value: object) -> str:
    try:
        return type(value).__name__
    except Exception:  # pragma: no cover - a metaclass that breaks __qualname__
        return "object"


def _json_safe(value: object, depth: int, path: frozenset[int]) -> Any:
    # Order matters: bool is an int, Enum members may be str or int.
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, enum.Enum):
        return _json_safe(value.value, depth, path)
    if isinstance(value, int):
        # Huge ints cannot be turned into text at all beyond sys.int_info's digit limit.
        if value.bit_length() > 64:
            return to_text(value)
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return to_text(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return to_text(value)
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        try:
            return value.isoformat()
        except Exception:
            return to_text(value)
    if isinstance(value, (Mapping, list, tuple, Set)):
        if id(value) in path:
            return "<recursion>"
        if depth >= MAX_DEPTH:
            return "<too deep>"
        inner = path | {id(value)}
        try:
            if isinstance(value, Mapping):
                return _mapping(value, depth + 1, inner)
            return _sequence(value, depth + 1, inner)
        except Exception:
            return f"<unreadable {_type_name(value)}>"
    return to_text(value)


def _mapping(value: Mapping[Any, Any], depth: int, path: frozenset[int]) -> FrozenDict:
    out: dict[str, Any] = {}
    for i, (key, item) in enumerate(value.items()):
        if i >= MAX_CONTAINER_ITEMS:
            out["…"] = f"{len(value) - i} more keys truncated"
            break
        out[to_text(key, 200)] = _json_safe(item, depth, path)
    return FrozenDict(out)


def _sequence(value: Any, depth: int, path: frozenset[int]) -> tuple[Any, ...]:
    items = list(value)
    if isinstance(value, Set):
        # Sets have no order; sort what can be sorted so that output is stable.
        try:
            items.sort()
        except TypeError:
            items.sort(key=repr)
    out = [_json_safe(item, depth, path) for item in items[:MAX_CONTAINER_ITEMS]]
    if len(items) > MAX_CONTAINER_ITEMS:
        out.append(f"… {len(items) - MAX_CONTAINER_ITEMS} more items truncated")
    return tuple(out)


_EMPTY: Final = FrozenDict()


def normalise_context(context: object) -> FrozenDict:
    """Return ``context`` as a read-only mapping of JSON-safe values; never raises.

    None is empty; a non-mapping is wrapped as ``{"value": ...}``. Keys become strings;
    datetimes ISO 8601 text; sets sorted lists; sequences tuples (JSON arrays); NaN and
    infinities and unknown objects text; strings longer than :data:`MAX_VALUE_CHARS`,
    containers longer than :data:`MAX_CONTAINER_ITEMS` and nesting deeper than
    :data:`MAX_DEPTH` are cut with a marker; a container that contains itself is cut
    with ``"<recursion>"``.
    """
    if context is None:
        return _EMPTY
    try:
        if isinstance(context, Mapping):
            return _mapping(context, 1, frozenset({id(context)}))
        return FrozenDict({"value": _json_safe(context, 1, frozenset())})
    except Exception:
        return FrozenDict({"value": f"<unreadable {_type_name(context)}>"})
