"""Testing helpers for tocsin and for sink authors: a recording sink and a real local receiver."""

from __future__ import annotations

from ._receiver import Received, Receiver, Reply, always, flaky, hanging, rate_limited
from ._recording import RecordingSink

__all__ = ["Received", "Receiver", "RecordingSink", "Reply", "always", "flaky", "hanging", "rate_limited"]
