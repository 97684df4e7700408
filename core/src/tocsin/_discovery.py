"""Finding sinks: the ``tocsin.sinks`` entry points of every installed distribution.

Only metadata is read here; nothing is imported. Loading happens in ``_registry``, one entry
point at a time, so that one broken distribution cannot hide the others.
"""

from __future__ import annotations

import dataclasses
from importlib import metadata

__all__ = ["ENTRY_POINT_GROUP", "SinkEntryPoint", "find_sink_entry_points"]

ENTRY_POINT_GROUP = "tocsin.sinks"


@dataclasses.dataclass(frozen=True)
class SinkEntryPoint:
    """One advertised sink: its name, where it comes from, and how to load it."""

    name: str
    value: str
    distribution: str | None
    version: str | None
    entry_point: metadata.EntryPoint | None = dataclasses.field(default=None, compare=False)

    def load(self) -> object:
        """Import and return the object the entry point names."""
        if self.entry_point is None:
            raise LookupError(f"sink {self.name!r} has no entry point")
        return self.entry_point.load()


def find_sink_entry_points() -> list[SinkEntryPoint]:
    """Every entry point in the ``tocsin.sinks`` group, sorted by name.

    When two distributions advertise the same name, both are returned (the registry keeps the
    first and reports the second).
    """
    found = []
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        found.append(
            SinkEntryPoint(
                name=ep.name,
                value=ep.value,
                distribution=dist.metadata["Name"] if dist is not None else None,
                version=dist.version if dist is not None else None,
                entry_point=ep,
            )
        )
    found.sort(key=lambda e: (e.name, e.distribution or ""))
    return found
