"""The shared rule for context values, and the CLI's duration text, against any input."""

from __future__ import annotations

import json
import math
import re

from hypothesis import given
from hypothesis import strategies as st

from tocsin import TEST_ALERT_KEY, context_value_text, is_test_context, make_alert
from tocsin.cli._text import duration, tidy

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@given(json_values)
def test_a_value_reads_back_as_itself(value: object) -> None:
    text = context_value_text(value)
    if isinstance(value, str):
        assert text == value  # strings are shown as they are, unquoted
    else:
        assert json.loads(text) == value


def test_json_spelling() -> None:
    assert [context_value_text(v) for v in (True, False, None, 91, 0.5, "web-1", ["a", 1])] == [
        "true", "false", "null", "91", "0.5", "web-1", '["a", 1]']


@given(json_values)
def test_every_alert_context_value_renders(value: object) -> None:
    alert = make_alert("info", "t", "m", {"v": value})
    assert isinstance(context_value_text(alert.context["v"]), str)


def test_only_a_true_flag_marks_a_test_alert() -> None:
    assert is_test_context({TEST_ALERT_KEY: True})
    assert not is_test_context({TEST_ALERT_KEY: "yes"})
    assert not is_test_context({"test": True})
    assert not is_test_context(None)
    assert is_test_context(make_alert("info", "t", "m", {TEST_ALERT_KEY: True}).context)


@given(st.floats(min_value=0, max_value=1e6, allow_nan=False))
def test_durations_have_two_significant_digits_at_most(seconds: float) -> None:
    text = duration(seconds)
    assert re.fullmatch(r"\d+(\.\d+)? s", text), text  # never an exponent
    number = text[:-2]
    if 1e-4 <= seconds < 99.5:
        significant = number.replace(".", "").lstrip("0")
        assert len(significant) <= 2, text
    assert math.isclose(float(number), seconds, rel_tol=0.05, abs_tol=1e-4)


def test_duration_examples() -> None:
    assert duration(9.999996444999965) == "10 s"
    assert duration(0.25) == "0.25 s"
    assert duration(0.0) == "0 s"
    assert duration(99.7) == "100 s"  # not 1e+02
    assert duration(1234.5) == "1234 s"  # whole seconds from 100 s: never 1.2e+03


def test_tidy_cuts_an_empty_tail_only() -> None:
    assert tidy("HTTP 404: ") == "HTTP 404"
    assert tidy("HTTP 404: Unknown Webhook") == "HTTP 404: Unknown Webhook"
