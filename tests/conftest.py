"""Fixtures for cross-package tests: wheels of every distribution, and a fresh virtualenv."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def distributions() -> list[Path]:
    """core and every first-party plugin (each folder of plugins/ with a pyproject.toml)."""
    plugins = sorted(p for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").exists()
                     and not p.name.startswith("_"))
    return [ROOT / "core", *plugins]


THIRD_PARTY: dict[str, tuple[str, str, str | None] | tuple[str, str, str | None, str]] = {
    # A well-behaved sink published by someone else: writes each alert to `path` from its settings.
    "tocsin-sink-acme": ("acme", "tocsin_sink_acme:AcmeSink", '''
        import os
        import tocsin

        if os.environ.get("ACME_IMPORT_MARKER"):
            open(os.environ["ACME_IMPORT_MARKER"], "a").write("imported\\n")

        class AcmeSink:
            def __init__(self, settings: tocsin.SinkSettings) -> None:
                self.path = settings.get_str("path")

            @tocsin.hookimpl
            def alert_emitted(self, alert: tocsin.Alert) -> None:
                with open(self.path, "a") as f:
                    f.write(f"{alert.severity}|{alert.title}|{alert.id}\\n")
    '''),
    # Advertises an entry point whose module does not exist.
    "tocsin-sink-broken": ("broken", "tocsin_sink_missing_module:Sink", None),
    # Loads fine, raises on every alert.
    "tocsin-sink-raising": ("raising", "tocsin_sink_raising", '''
        import tocsin

        @tocsin.hookimpl
        def alert_emitted(alert):
            raise RuntimeError("raising sink always fails")
    '''),
    # A command plugin: adds `tocsin hello` through the tocsin.commands group.
    "tocsin-cmd-hello": ("hello", "tocsin_cmd_hello:register", '''
        def register(subparsers):
            hello = subparsers.add_parser("hello", help="say hello from a command plugin")
            hello.add_argument("who")
            hello.set_defaults(func=run)

        def run(args):
            args.out.write(f"hello {args.who} (config={args.config}, quiet={args.quiet})\\n")
            return 7
    ''', "tocsin.commands"),
    # A command plugin whose module exits the interpreter when imported.
    "tocsin-cmd-broken": ("broken-cmd", "tocsin_cmd_broken:register", '''
        import sys
        sys.exit(3)
    ''', "tocsin.commands"),
}


def _write_third_party(base: Path) -> list[Path]:
    dirs = []
    for dist, (name, value, code, *group) in THIRD_PARTY.items():
        d = base / dist
        pkg = dist.replace("-", "_")
        (d / "src" / pkg).mkdir(parents=True)
        (d / "src" / pkg / "__init__.py").write_text(textwrap.dedent(code or ""))
        (d / "pyproject.toml").write_text(textwrap.dedent(f"""
            [build-system]
            requires = ["hatchling"]
            build-backend = "hatchling.build"
            [project]
            name = "{dist}"
            version = "1.0.0"
            dependencies = ["tocsin"]
            [project.entry-points."{group[0] if group else 'tocsin.sinks'}"]
            {name} = "{value}"
            [tool.hatch.build.targets.wheel]
            packages = ["src/{pkg}"]
        """))
        dirs.append(d)
    return dirs


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Wheels of core, every first-party plugin and three throwaway third-party sinks."""
    out = tmp_path_factory.mktemp("wheelhouse")
    sources = distributions() + _write_third_party(tmp_path_factory.mktemp("thirdparty"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "--disable-pip-version-check", "-w", str(out), *map(str, sources)],
        check=True, timeout=300,
    )
    return out


@pytest.fixture(scope="session")
def fresh_venv(wheelhouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtualenv with every wheel of the wheelhouse installed (plain installs, not editable).

    Returns its bin directory.
    """
    root = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=True).create(root)
    bindir = root / ("Scripts" if os.name == "nt" else "bin")
    wheels = sorted(str(w) for w in wheelhouse.glob("*.whl"))
    subprocess.run(
        [str(bindir / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
         "--find-links", str(wheelhouse), *wheels],
        check=True, timeout=600,
    )
    return bindir
