"""Testing helpers for tocsin and for sink authors."""

from __future__ import annotations

from ._recording import RecordingSink

__all__ = ["RecordingSink"]
