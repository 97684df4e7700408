"""Matchers in Alertmanager's syntax: parsing, each operator, anchoring, label spelling."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tocsin._alert import make_alert
from tocsin._matchers import Matcher, MatcherError, Route, label_value, parse_matcher, parse_matchers

ALERT = make_alert("critical", "Queue pile-up", "m", {
    "queue": "ingest-eu", "depth": 312, "ratio": 1.5, "paused": False, "owner": None, "tags": ["a", "b"]})


def holds(text: str, alert: object = ALERT) -> bool:
    return parse_matcher(text).matches(alert, project="atocore")  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "expected"), [
    ("severity=critical", True),
    ("severity=warning", False),
    ("severity!=warning", True),
    ("severity!=critical", False),
    ("queue=~ingest.*", True),
    ("queue=~eu", False),          # anchored: a regex must match the whole value
    ("queue=~.*eu", True),
    ("queue!~ingest.*", False),
    ("queue!~eu", True),           # anchored the other way too
    ("title=Queue pile-up", True),
    ('title="Queue pile-up"', True),
    ("host=" + ALERT.host, True),
    ("project=atocore", True),
    ("project!=atocore", False),
])
def test_each_operator_and_anchoring(text: str, expected: bool) -> None:
    assert holds(text) is expected


def test_regex_alternation_is_anchored_as_a_whole() -> None:
    # Alertmanager anchors as ^(?:regex)$: "a|b" must not match "xa" or "bx".
    assert holds("queue=~x|ingest-eu")
    assert not holds("queue=~ingest|zzz")


def test_context_values_are_compared_as_json_spells_them() -> None:
    assert holds("depth=312")
    assert holds("depth=~3.*")
    assert holds("ratio=1.5")
    assert holds("paused=false")
    assert holds("owner=null")
    assert holds('tags=["a", "b"]')


def test_a_missing_label_is_the_empty_string() -> None:
    assert holds('missing=""')
    assert holds("missing=")
    assert not holds('missing!=""')
    assert holds('queue!=""')
    assert not holds("missing=~.+")


def test_builtin_labels_win_over_context_keys_of_the_same_name() -> None:
    alert = make_alert("info", "t", "m", {"severity": "critical", "title": "other"})
    assert label_value(alert, "severity") == "info"
    assert label_value(alert, "title") == "t"


def test_quoted_values_take_json_escapes_and_spaces() -> None:
    assert parse_matcher('title = "a \\"b\\" c"').value == 'a "b" c'
    assert parse_matcher("  queue =~ ingest.*  ").value == "ingest.*"
    assert parse_matcher("a!=b") == Matcher("a", "!=", "b")
    assert parse_matcher("a=~b").op == "=~"
    assert parse_matcher("a!~b").op == "!~"
    assert parse_matcher("a==b").value == "=b"  # the first operator is the operator


@pytest.mark.parametrize("text", ["", "severity", "=critical", "queue=~(ingest", 'title="unterminated',
                                  'title="a" b', "queue!~[", '"quoted"=label'])
def test_bad_matchers_are_refused_with_a_reason(text: str) -> None:
    with pytest.raises(MatcherError) as info:
        parse_matcher(text)
    assert str(info.value)


def test_matchers_setting_must_be_a_list_of_strings() -> None:
    with pytest.raises(MatcherError):
        parse_matchers("severity=critical")
    with pytest.raises(MatcherError):
        parse_matchers([3])
    assert parse_matchers([]) == ()


@given(st.text(max_size=40))
def test_parsing_hostile_text_raises_only_matcher_error(text: str) -> None:
    try:
        matcher = parse_matcher(text)
    except MatcherError:
        return
    matcher.matches(ALERT)  # whatever parsed can be evaluated
    assert isinstance(str(matcher), str)


@given(st.text(max_size=20))
def test_equality_matcher_round_trips_any_value_through_quoting(value: str) -> None:
    import json

    alert = make_alert("info", "t", "m", {"k": value})
    assert parse_matcher(f"k={json.dumps(value)}").matches(alert)
    assert not parse_matcher(f"k!={json.dumps(value)}").matches(alert)


def test_route_needs_every_matcher_and_honours_send_resolved() -> None:
    route = Route(parse_matchers(["severity=critical", "queue=~ingest.*"]), project="p")
    assert route.accepts(ALERT)
    assert not route.accepts(make_alert("critical", "t", "m", {"queue": "billing"}))
    assert not route.accepts(make_alert("warning", "t", "m", {"queue": "ingest"}))
    resolved = make_alert("critical", "t", "m", {"queue": "ingest"}, status="resolved")
    assert route.accepts(resolved)
    assert not Route(send_resolved=False).accepts(resolved)
    assert Route().trivial
    assert not Route(send_resolved=False).trivial


@given(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                 st.text(max_size=10), st.lists(st.integers(), max_size=3)))
def test_a_context_label_is_spelt_as_json_spells_the_value(value: object) -> None:
    import json

    alert = make_alert("info", "t", "m", {"k": value})
    stored = alert.context["k"]  # as normalised (an int beyond 64 bits becomes its text, ...)
    expected = stored if isinstance(stored, str) else json.dumps(stored, ensure_ascii=False)
    assert label_value(alert, "k") == expected
