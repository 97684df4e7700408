"""Matchers: which alerts a sink instance receives, in Alertmanager's syntax.

``matchers = ["severity=critical", "queue=~ingest.*", "host!=dev1"]``: an alert goes to the
instance only when every matcher holds. Operators ``=``, ``!=``, ``=~``, ``!~``; a value may be
double-quoted (JSON escapes: ``"a \\"b\\""``); a regular expression must match the whole value,
as Alertmanager anchors them, and is RE2's, as Alertmanager's are: the same syntax (no
backreferences, no lookaround) and a match in linear time, so no pattern can stall the caller's
thread (Python's backtracking ``re`` took 2 s for ``(a+)+b`` against a 26-character title).
The labels of an alert are ``severity``, ``title``, ``host``, ``project`` and each context key
(these four win over context keys of the same name); a context value that is not a string is
spelt as JSON (``true``, ``null``, ``3``, ``1.5``); a label the alert does not have is the empty
string, so ``queue!=""`` means "has a queue".

Matchers are parsed and compiled once, when the instance is installed; evaluating them is a few
dictionary lookups and string comparisons on the emitting thread.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Sequence
from typing import Any, Final

from ._alert import Alert

__all__ = ["BUILTIN_LABELS", "Matcher", "MatcherError", "Route", "label_value", "parse_matcher", "parse_matchers"]

BUILTIN_LABELS: Final = ("severity", "title", "host", "project")
"""The labels every alert has; the other labels are its context keys."""

_OPS: Final = ("=~", "!~", "!=", "=")
# label, operator, value. The label stops at the first character of an operator.
_SYNTAX: Final = re.compile(r'\s*([^\s=!~"]+)\s*(=~|!~|!=|=)\s*(.*?)\s*', re.DOTALL)


class MatcherError(ValueError):
    """A matcher that cannot be parsed or compiled; the message says why."""


def _context_text(value: object) -> str:
    # Alertmanager labels are strings: a context value is compared as JSON spells it. The
    # scalar cases spelt directly (what json.dumps would write), as this runs per alert.
    kind = type(value)
    if kind is str:
        return value  # type: ignore[return-value]  # checked just above: type(value) is str
    if kind is int:
        return str(value)
    if kind is float:
        return repr(value)  # json.dumps writes floats with float.__repr__ (context floats are finite)
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    return json.dumps(value, ensure_ascii=False)


def label_value(alert: Alert, label: str, project: str = "") -> str:
    """The value of ``label`` for ``alert`` as a string ("" when the alert has no such label)."""
    if label == "severity":
        return alert.severity.value
    if label == "title":
        return alert.title
    if label == "host":
        return alert.host
    if label == "project":
        return project
    value = alert.context.get(label)
    if value is None and label not in alert.context:
        return ""
    return _context_text(value)


def _getter(label: str, project: str) -> Callable[[Alert], str]:
    # One small closure per matcher, chosen at install: no label dispatch per alert.
    if label == "severity":
        return lambda a: a.severity.value
    if label == "title":
        return lambda a: a.title
    if label == "host":
        return lambda a: a.host
    if label == "project":
        return lambda a: project
    return lambda a: label_value(a, label)


@dataclasses.dataclass(frozen=True)
class Matcher:
    """One parsed matcher: ``label``, ``op`` (``=``, ``!=``, ``=~``, ``!~``) and ``value``."""

    label: str
    op: str
    value: str
    regex: Any = dataclasses.field(default=None, compare=False, repr=False)
    """The compiled RE2 pattern of ``=~`` and ``!~`` (None for ``=`` and ``!=``)."""

    def __str__(self) -> str:
        return f"{self.label}{self.op}{json.dumps(self.value, ensure_ascii=False)}"

    def test(self, text: str) -> bool:
        """Whether a label value of ``text`` satisfies this matcher."""
        if self.op == "=":
            return text == self.value
        if self.op == "!=":
            return text != self.value
        if self.regex is None:  # pragma: no cover - parse_matcher compiles every regex operator's value
            return False
        found = self.regex.fullmatch(text) is not None
        return found if self.op == "=~" else not found

    def matches(self, alert: Alert, project: str = "") -> bool:
        """Whether ``alert`` satisfies this matcher (``project`` is the ``project`` label)."""
        return self.test(label_value(alert, self.label, project))


def parse_matcher(text: str) -> Matcher:
    """Parse one matcher (``queue=~"ingest.*"``); raises :class:`MatcherError` with the reason."""
    if not isinstance(text, str):
        raise MatcherError(f"expected a string like \"severity=critical\", got {type(text).__name__}")
    found = _SYNTAX.fullmatch(text)
    if found is None:
        raise MatcherError(f"cannot parse {text!r}: expected LABEL=VALUE, LABEL!=VALUE, LABEL=~REGEX or LABEL!~REGEX")
    label, op, raw = found.groups()
    value = raw
    if raw.startswith('"'):
        try:
            value = json.loads(raw)
        except ValueError:
            value = None
        if not isinstance(value, str):
            raise MatcherError(f"cannot parse {text!r}: a quoted value must be one JSON string")
    regex = _compile_regex(value, text) if op in ("=~", "!~") else None
    return Matcher(label, op, value, regex)


def _compile_regex(pattern: str, text: str) -> Any:
    # Imported only when a regex matcher is configured: `import tocsin` does not pay for it.
    import re2

    options = re2.Options()
    options.log_errors = False  # RE2 would print its own parse errors to stderr; ours says it
    try:
        return re2.compile(pattern, options=options)
    except (re2.error, OverflowError, RecursionError, ValueError) as exc:
        detail = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else exc
        raise MatcherError(f"invalid regular expression in {text!r}: {detail}") from None


def parse_matchers(values: object) -> tuple[Matcher, ...]:
    """Parse a ``matchers`` setting (a list of strings); raises :class:`MatcherError`."""
    if not isinstance(values, list):
        raise MatcherError(f"expected a list of strings like [\"severity=critical\"], got {type(values).__name__}")
    return tuple(parse_matcher(v) for v in values)


class Route:
    """What decides, on the emitting thread, whether one instance receives an alert: its
    matchers and ``send_resolved``. ``min_severity`` is checked before, by rank."""

    __slots__ = ("_tests", "matchers", "send_resolved")

    def __init__(self, matchers: Sequence[Matcher] = (), *, send_resolved: bool = True, project: str = "") -> None:
        self.matchers = tuple(matchers)
        self.send_resolved = send_resolved
        self._tests = tuple((_getter(m.label, project), m.test) for m in self.matchers)

    @property
    def trivial(self) -> bool:
        """True when it accepts every alert (the registry then skips it)."""
        return not self.matchers and self.send_resolved

    def accepts(self, alert: Alert) -> bool:
        """Whether ``alert`` goes to the instance."""
        if not self.send_resolved and alert.status == "resolved":
            return False
        for get, test in self._tests:  # noqa: SIM110 - a plain loop costs the emitting thread less than all()
            if not test(get(alert)):
                return False
        return True
