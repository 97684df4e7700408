"""Testing helpers for tocsin and for sink authors: a recording sink, a real local receiver, and
:func:`render_hostile` to check a network sink's ``render`` without a server."""

from __future__ import annotations

from ._receiver import Received, Receiver, Reply, always, flaky, hanging, rate_limited
from ._recording import RecordingSink
from ._render import render_hostile

__all__ = ["Received", "Receiver", "RecordingSink", "Reply", "always", "flaky", "hanging", "rate_limited",
           "render_hostile"]
