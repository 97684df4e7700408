from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import os
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tocsin import Severity
from tocsin._alert import make_alert
from tocsin._normalise import MAX_CONTAINER_ITEMS, MAX_VALUE_CHARS, normalise_context, to_text, truncate


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no")


class StrReturnsInt:
    def __str__(self) -> Any:
        return 5


def test_alert_fields() -> None:
    alert = make_alert("WARNING", "t", "m", {"k": 1})
    assert alert.severity is Severity.WARNING
    assert alert.severity == "warning"
    assert len(alert.id) == 32
    assert alert.timestamp.tzinfo is dt.timezone.utc
    assert alert.pid == os.getpid()
    assert alert.host
    assert alert.context == {"k": 1}
    assert make_alert("info", "t", "m").id != alert.id


@pytest.mark.parametrize("severity", [None, "", "fatal", 7, b"\xff"])
def test_unknown_severity_becomes_info(severity: object) -> None:
    assert make_alert(severity, "t", "m").severity is Severity.INFO


def test_alert_is_immutable() -> None:
    alert = make_alert("info", "t", "m", {"a": {"b": [1, 2]}})
    with pytest.raises(dataclasses.FrozenInstanceError):
        alert.title = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        alert.context["a"] = 1  # type: ignore[index]
    with pytest.raises(TypeError):
        alert.context["a"]["c"] = 1
    assert alert.context["a"]["b"] == (1, 2)  # sequences become tuples


def test_caller_mutation_after_emit_does_not_reach_the_alert() -> None:
    ctx: dict[str, Any] = {"items": [1]}
    alert = make_alert("info", "t", "m", ctx)
    ctx["items"].append(2)
    ctx["new"] = 1
    assert alert.context == {"items": (1,)}


def test_text_normalisation() -> None:
    assert to_text(b"caf\xc3\xa9 \xff") == "café \ufffd"
    assert to_text(None) == ""
    assert to_text(Unprintable()) == "<unprintable Unprintable>"
    assert to_text(StrReturnsInt()) == "<unprintable StrReturnsInt>"
    assert to_text("lone \ud800 surrogate") == "lone \ufffd surrogate"
    assert to_text(42) == "42"


def test_truncate_marks_and_bounds() -> None:
    cut = truncate("x" * 10_000, 100)
    assert len(cut) == 100
    kept, _, marker = cut.partition("…[")
    assert set(kept) == {"x"}
    assert marker.endswith(" more chars]")
    assert len(kept) + int(marker.split()[0]) == 10_000  # the marker says exactly how much went
    assert truncate("short", 100) == "short"


def test_context_made_json_safe() -> None:
    when = dt.datetime(2026, 11, 29, 13, 0, tzinfo=dt.timezone.utc)
    loop: dict[str, Any] = {"name": "loop"}
    loop["self"] = loop
    ctx = normalise_context({
        1: "int key", "when": when, "tags": {"b", "a"}, "nan": math.nan, "big": 10**400,
        "bytes": b"\x00\xff", "obj": Unprintable(), "loop": loop, "long": "y" * 100_000,
        "many": list(range(1000)), "deep": [[[[[[[[[["bottom"]]]]]]]]]],
    })
    assert ctx["1"] == "int key"
    assert ctx["when"] == "2026-11-29T13:00:00+00:00"
    assert ctx["tags"] == ("a", "b")
    assert ctx["nan"] == "nan"
    assert isinstance(ctx["big"], str)
    assert ctx["obj"] == "<unprintable Unprintable>"
    assert ctx["loop"]["self"] == "<recursion>"
    assert len(ctx["long"]) == MAX_VALUE_CHARS
    assert len(ctx["many"]) == MAX_CONTAINER_ITEMS + 1
    assert "truncated" in ctx["many"][-1]
    assert "<too deep>" in json.dumps(ctx["deep"])
    json.dumps(ctx, allow_nan=False)  # valid, standard JSON


def test_non_mapping_context_is_wrapped() -> None:
    assert normalise_context(["a"]) == {"value": ("a",)}
    assert normalise_context("text") == {"value": "text"}
    assert normalise_context(None) == {}


class ExplodingMapping(dict):  # type: ignore[type-arg]
    def items(self) -> Any:
        raise RuntimeError("boom")


def test_context_that_cannot_be_read() -> None:
    ctx = normalise_context(ExplodingMapping(a=1))
    assert ctx == {"value": "<unreadable ExplodingMapping>"}


hostile = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.binary()
    | st.datetimes() | st.just(Unprintable()),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text() | st.integers(), inner, max_size=4)
    | st.frozensets(st.integers(), max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(severity=hostile, title=hostile, message=hostile, context=hostile)
def test_make_alert_never_raises_and_is_json_safe(severity: Any, title: Any, message: Any, context: Any) -> None:
    alert = make_alert(severity, title, message, context)
    text = json.dumps(alert.to_dict(), allow_nan=False, ensure_ascii=False)
    text.encode("utf-8")  # no lone surrogate anywhere
    assert isinstance(alert.title, str)
    assert isinstance(alert.message, str)
