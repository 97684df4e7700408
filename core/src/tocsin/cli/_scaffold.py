"""``tocsin new-sink``: a ready-to-publish ``tocsin-sink-NAME`` package, from ``_template/``."""

from __future__ import annotations

import re
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

from .._errors import TocsinError
from .._version import __version__

__all__ = ["NAME_PATTERN", "new_sink"]

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def _class_name(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_")) + "Sink"


def _walk(node: Traversable, prefix: str = "") -> list[tuple[str, Traversable]]:
    out = []
    for child in sorted(node.iterdir(), key=lambda c: c.name):
        rel = f"{prefix}{child.name}"
        if child.is_dir():
            if child.name != "__pycache__":
                out.extend(_walk(child, rel + "/"))
        else:
            out.append((rel, child))
    return out


def new_sink(name: str, directory: Path | None = None, *, network: bool = False) -> Path:
    """Write a new sink package for sink ``name`` into ``directory`` (default
    ``./tocsin-sink-NAME``) and return it. Raises :class:`TocsinError` for a bad name or a
    directory that exists and is not empty."""
    if not NAME_PATTERN.match(name):
        raise TocsinError(f"invalid sink name {name!r}: use lower-case letters, digits and _, starting with a letter")
    dist = f"tocsin-sink-{name.replace('_', '-')}"
    target = directory if directory is not None else Path(dist)
    if target.exists() and any(target.iterdir()):
        raise TocsinError(f"{target} exists and is not empty")
    values = {
        "name": name,
        "dist": dist,
        "package": f"tocsin_sink_{name}",
        "class": _class_name(name),
        "tocsin_version": __version__,
        "requirement": f"tocsin[network]>={__version__}" if network else f"tocsin>={__version__}",
        "settings_doc": f'url = "${{{name.upper()}_URL}}"   # keep secrets in the environment\nchannel = "alerts"'
        if network else f'path = "~/.local/state/tocsin/{name}.jsonl"',
    }
    root = resources.files("tocsin.cli") / "_template"
    for variant in ("common", "network" if network else "local"):
        for rel, source in _walk(root / variant):
            rel_out = rel.replace("__package__", values["package"]).removesuffix(".tmpl")
            text = source.read_text(encoding="utf-8")
            for key, value in values.items():
                text = text.replace("{{" + key + "}}", value)
            out = target / rel_out
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text, encoding="utf-8")
    return target
