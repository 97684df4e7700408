#!/usr/bin/env python3
"""Set up a development environment in .venv and show tocsin working.

    python3 scripts/quickstart.py            # set up, then emit a sample alert
    python3 scripts/quickstart.py --setup-only

Needs only Python >= 3.10 and pip. Creates .venv (with the stdlib venv, or with virtualenv
where the system Python ships without ensurepip), installs core, the plugins and the test
tools from requirements-dev.txt, then emits one alert through the default sinks and shows
where it went. Safe to run again: it reuses .venv.

Each step prints a line when it starts and when it ends, with its time, and a long pip run
says every 15 s that it is still working: the install takes about a minute, and a minute of
silence looks like a hang.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")


# Seconds between "still working" lines; QUICKSTART_HEARTBEAT lets a test see them quickly.
HEARTBEAT = float(os.environ.get("QUICKSTART_HEARTBEAT", "15"))


def run(*cmd: str | os.PathLike[str], env: dict[str, str] | None = None) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, cwd=ROOT, env=env)


def step(number: int, total: int, what: str, *cmd: str | os.PathLike[str]) -> None:
    """Run one setup step: a line as it starts, a line every HEARTBEAT seconds while it runs,
    a line with its time when it ends."""
    print(f"[{number}/{total}] {what} ...", flush=True)
    started = time.monotonic()
    process = subprocess.Popen([str(c) for c in cmd], cwd=ROOT)
    while True:
        try:
            status = process.wait(timeout=HEARTBEAT)
            break
        except subprocess.TimeoutExpired:
            print(f"      still {what.split(' ')[0]} ({time.monotonic() - started:.0f} s so far)", flush=True)
    if status != 0:
        raise subprocess.CalledProcessError(status, [str(c) for c in cmd])
    print(f"[{number}/{total}] {what}: done in {time.monotonic() - started:.0f} s", flush=True)


def install_steps() -> list[tuple[str, list[str | os.PathLike[str]]]]:
    """What to run after creating .venv, each step with the words its progress lines use: the
    tools of requirements-dev.txt, then tocsin's distributions as scripts/workspace.py finds them."""
    from workspace import distributions  # this script's own folder is on sys.path

    pip: list[str | os.PathLike[str]] = [PY, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    tools = [line.split("#", 1)[0].strip() for line in (ROOT / "requirements-dev.txt").read_text("utf-8").splitlines()]
    tools = [t for t in tools if t]
    names = ", ".join(d.name for d in distributions())
    return [("upgrading pip", [*pip, "--upgrade", "pip"]),
            (f"installing the test and lint tools ({len(tools)} packages)", [*pip, *tools]),
            (f"installing tocsin, editable ({names})", [PY, Path(__file__).parent / "workspace.py", "install", "-q"])]


def make_venv() -> None:
    if PY.exists():
        return
    try:
        run(sys.executable, "-m", "venv", VENV)
        return
    except subprocess.CalledProcessError:
        print("stdlib venv failed (no ensurepip?); using virtualenv instead", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        run(sys.executable, "-m", "pip", "install", "-q", "--target", tmp, "virtualenv")
        run(sys.executable, "-m", "virtualenv", VENV, env={**os.environ, "PYTHONPATH": tmp})


def main() -> int:
    if sys.version_info < (3, 10):  # noqa: UP036 - this script runs before anything checks the version
        print(f"tocsin needs Python >= 3.10; this is {sys.version.split()[0]}", file=sys.stderr)
        return 1
    steps = install_steps()
    total = len(steps) + 1
    print(f"[1/{total}] creating .venv ..." if not PY.exists() else f"[1/{total}] reusing .venv", flush=True)
    make_venv()
    for number, (what, cmd) in enumerate(steps, start=2):
        step(number, total, what, *cmd)
    if "--setup-only" in sys.argv[1:]:
        return 0

    tocsin = str(BIN / "tocsin")
    print("\n== the sinks tocsin found", flush=True)
    run(tocsin, "sinks")
    print("\n== emitting a sample alert (the structlog event goes to stderr)", flush=True)
    run(tocsin, "emit", "warning", "Disk almost full", "/var is 91% full on the build host",
        "--context", "mount=/var", "--context", "used_pct=91")
    print("\n== where it went", flush=True)
    import json

    out = subprocess.run([tocsin, "sinks", "--json"], check=True, cwd=ROOT, capture_output=True, text=True)
    for sink in json.loads(out.stdout):
        target = sink.get("status", {}).get("target")
        if sink["name"] == "file" and target and Path(target).exists():
            last_line = Path(target).read_text(encoding="utf-8").splitlines()[-1]
            print(f"alert log  {target}\n  {last_line}")
        elif sink["name"] == "state" and target:
            print(f"state db   {target}  (tocsin last):")
            run(tocsin, "last")
    print("\nSet up. Run the tests with:  .venv/bin/python -m pytest")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
