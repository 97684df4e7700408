"""The layering rule of docs/architecture.md, checked in a fresh interpreter: ``import tocsin``
loads neither the delivery engine nor the command line, nor what they stand on (urllib3,
argparse, sqlite3). A caller pays for what it uses; a stray top-level import fails here."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

_HEAVY = ["tocsin.delivery", "tocsin.cli", "urllib3", "argparse", "sqlite3"]


@pytest.mark.parametrize("module", _HEAVY)
def test_import_tocsin_does_not_load(module: str) -> None:
    code = "import json, sys, tocsin; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert module not in json.loads(out.stdout)
