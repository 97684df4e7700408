"""Finding plugins: the ``tocsin.sinks`` and ``tocsin.commands`` entry points of every
installed distribution.

Only metadata is read here; nothing is imported. Loading happens in ``_registry``, one entry
point at a time, so that one broken distribution cannot hide the others.

Why not simply ``importlib.metadata.entry_points()``: importing ``importlib.metadata`` costs
about 20 ms here (it pulls in ``email``, ``zipfile`` and more), more than the whole start-up
budget tocsin has on top of structlog (bench/import_time.py). Entry points of installed
distributions are plain files (``*.dist-info/entry_points.txt`` on ``sys.path``), so the
common case is read directly; anything unusual (a zip on ``sys.path``) falls back to
``importlib.metadata``, which stays the reference.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import sys
from typing import Any

__all__ = ["COMMANDS_GROUP", "ENTRY_POINT_GROUP", "PluginEntryPoint", "find_entry_points", "find_sink_entry_points"]

ENTRY_POINT_GROUP = "tocsin.sinks"
"""The entry-point group of sinks."""
COMMANDS_GROUP = "tocsin.commands"
"""The entry-point group of ``tocsin`` subcommands contributed by plugins."""


@dataclasses.dataclass(frozen=True)
class PluginEntryPoint:
    """One advertised plugin (a sink or a command): its name, where it comes from, how to load it."""

    name: str
    value: str
    """``module`` or ``module:attribute.path``, as in the distribution's metadata."""
    distribution: str | None
    version: str | None

    def load(self) -> object:
        """Import the module the entry point names and return its object."""
        module_name, _, attrs = self.value.partition(":")
        obj: Any = importlib.import_module(module_name.strip())
        for attr in filter(None, attrs.split("[", 1)[0].strip().split(".")):
            obj = getattr(obj, attr)
        return obj


def _entry_points_txt(text: str, group: str = ENTRY_POINT_GROUP) -> list[tuple[str, str]]:
    """The ``name = value`` pairs of the ``[group]`` section of an entry_points.txt."""
    found = []
    in_group = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            in_group = line[1:-1].strip() == group
        elif in_group and "=" in line:
            name, _, value = line.partition("=")
            found.append((name.strip(), value.strip()))
    return found


def _name_and_version(dist_info: str, fallback: str) -> tuple[str, str | None]:
    # The true name is in METADATA's header (the directory name is normalised).
    name, version = fallback, None
    try:
        with open(os.path.join(dist_info, "METADATA"), encoding="utf-8", errors="replace") as f:
            for line in f:
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                if key == "Name":
                    name = value.strip()
                elif key == "Version":
                    version = value.strip()
    except OSError:
        pass
    return name, version


def _normalise(name: str) -> str:
    return name.lower().replace("-", "_").replace(".", "_")


def _scan_sys_path(group: str) -> list[PluginEntryPoint] | None:
    """Entry points read straight from ``*.dist-info`` folders; None if sys.path holds
    something only importlib.metadata can read."""
    found: list[PluginEntryPoint] = []
    seen: set[str] = set()  # like importlib.metadata: the first distribution of a name wins
    for entry in sys.path:
        path = entry or "."
        if os.path.isfile(path):
            return None  # a zip archive on sys.path
        try:
            names = sorted(os.listdir(path))
        except OSError:
            continue
        for folder in names:
            if not folder.endswith(".dist-info"):
                continue
            stem = folder[: -len(".dist-info")].partition("-")[0]
            key = _normalise(stem)
            if key in seen:
                continue
            seen.add(key)
            dist_info = os.path.join(path, folder)
            try:
                with open(os.path.join(dist_info, "entry_points.txt"), encoding="utf-8") as f:
                    pairs = _entry_points_txt(f.read(), group)
            except OSError:
                continue
            if pairs:
                dist, version = _name_and_version(dist_info, stem)
                found.extend(PluginEntryPoint(n, v, dist, version) for n, v in pairs)
    return found


def _from_importlib_metadata(group: str) -> list[PluginEntryPoint]:
    from importlib import metadata

    found = []
    for ep in metadata.entry_points(group=group):
        dist = getattr(ep, "dist", None)
        found.append(PluginEntryPoint(
            name=ep.name, value=ep.value,
            distribution=dist.metadata["Name"] if dist is not None else None,
            version=dist.version if dist is not None else None,
        ))
    return found


def find_sink_entry_points() -> list[PluginEntryPoint]:
    """Every entry point in the ``tocsin.sinks`` group, sorted by name (see :func:`find_entry_points`)."""
    return find_entry_points(ENTRY_POINT_GROUP)


def find_entry_points(group: str) -> list[PluginEntryPoint]:
    """Every entry point in ``group``, sorted by name.

    When two distributions advertise the same name, both are returned (the registry keeps the
    first and reports the second).
    """
    found = _scan_sys_path(group)
    if found is None:
        found = _from_importlib_metadata(group)
    found.sort(key=lambda e: (e.name, e.distribution or ""))
    return found
