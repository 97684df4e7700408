"""The hostile alerts every sink must carry: built once, without pytest, for the contract and
:func:`~tocsin.testing.render_hostile`."""

from __future__ import annotations

from typing import Any

from .._alert import Alert, make_alert

__all__ = ["HOSTILE_ALERTS", "describe"]


class _Loop:
    """A mapping that contains itself: normalisation must cut it."""


def _hostile() -> list[Alert]:
    loop: dict[str, Any] = {}
    loop["self"] = loop
    return [
        make_alert("critical", "T" * 5000, "M" * 200_000, {f"k{i}": "v" * 5000 for i in range(300)}),
        make_alert("warning", "line\nbreak\r\x00\x1b[31m\u2028\u2029\x85", "tab\tnul\x00 bell\x07",
                   {"\n": "\r", "esc": "\x1b]0;title\x07"}),
        make_alert("info", "lone \ud800 surrogate", "\udfff", {"s": "\ud83d"}),
        make_alert("info", b"\xff\xfe bytes", None, {1: 2, (3, 4): {5, 6}, "nan": float("nan"), "big": 10**500}),
        make_alert("critical", "", "", {}),
        make_alert("warning", "@everyone <!channel> <@U123> &amp; ${HOME} %s {0}", "*_~`|>", {"loop": loop}),
        make_alert("bogus", object(), _Loop(), ["not", "a", "mapping"]),
        make_alert("info", "ünïcødé ☃ 🚨 中文 עברית", "\u202e right-to-left override", {"emoji": "🔥" * 100}),
    ]


HOSTILE_ALERTS: list[Alert] = _hostile()


def describe(alert: Alert) -> str:
    """``hostile alert #N titled '…'``: which alert a failure is about, short enough to read."""
    title = alert.title if len(alert.title) <= 60 else alert.title[:60] + "…"
    for index, hostile in enumerate(HOSTILE_ALERTS):
        if hostile is alert:
            return f"hostile alert #{index} titled {title!r}"
    return f"the alert titled {title!r}"
