#!/usr/bin/env python3
"""The one list of this repository's distributions: core/ and every plugins/*/pyproject.toml.

Nothing else lists them. scripts/quickstart.py installs what this finds, toxfile.py makes a
``pkg-<name>`` tox env for each, and mypy and ruff find them by the globs in pyproject.toml
(``core/src/*``, ``plugins/*/src/*``). A new plugin folder is picked up everywhere by existing.

    python scripts/workspace.py list             # name, folder, import package
    python scripts/workspace.py install          # pip install -e every distribution into this Python
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclasses.dataclass(frozen=True)
class Distribution:
    """One distribution of the workspace."""

    name: str
    """The short name: ``core``, or the plugin's folder name (``file``, ``state``, …)."""
    path: Path
    extras: str = ""
    """Extras to install it with in development (``[network]`` for core)."""

    @property
    def packages(self) -> list[str]:
        """The import packages under its ``src/``."""
        return sorted(p.name for p in (self.path / "src").iterdir() if (p / "__init__.py").is_file())


def distributions() -> list[Distribution]:
    """core, then every folder of plugins/ with a pyproject.toml (those starting with _ excluded)."""
    plugins = sorted(p for p in (ROOT / "plugins").iterdir()
                     if (p / "pyproject.toml").is_file() and not p.name.startswith("_"))
    return [Distribution("core", ROOT / "core", "[network]"), *(Distribution(p.name, p) for p in plugins)]


def install_editable(python: str = sys.executable, quiet: bool = True) -> None:
    """``pip install -e`` every distribution (core with its network extra) into ``python``."""
    args = [f"{d.path}{d.extras}" for d in distributions()]
    editable = [item for arg in args for item in ("-e", arg)]
    subprocess.run([python, "-m", "pip", "install", *(["-q"] if quiet else []), "--disable-pip-version-check",
                    *editable], check=True)


def main(argv: list[str]) -> int:
    if argv[:1] == ["list"]:
        for d in distributions():
            print(f"{d.name:<14} {d.path.relative_to(ROOT)!s:<22} {' '.join(d.packages)}")
        return 0
    if argv[:1] == ["install"]:
        install_editable(quiet="-q" in argv)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
