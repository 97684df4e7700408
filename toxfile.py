"""tox's inline plugin: one ``pkg-<name>`` env per distribution that scripts/workspace.py finds.

So a new plugins/<name>/ folder gets its env without editing tox.ini (needs tox >= 4.29 for the
``tox_extend_envs`` hook).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from tox.config.loader.memory import MemoryLoader
from tox.config.sets import ConfigSet
from tox.plugin import impl
from tox.session.state import State

sys.path.insert(0, str(Path(__file__).resolve().parent / "scripts"))
from workspace import distributions


@impl
def tox_extend_envs() -> Iterable[str]:
    return [f"pkg-{d.name}" for d in distributions()]


@impl
def tox_add_core_config(core_conf: ConfigSet, state: State) -> None:
    for d in distributions():
        tests = d.path.relative_to(Path(__file__).resolve().parent) / "tests"
        # Only the folder is set here: [testenv]'s own command runs it, so {posargs} still works.
        state.conf.memory_seed_loaders[f"pkg-{d.name}"].append(MemoryLoader(
            description=f"the tests of {d.name} alone",
            set_env={"TOCSIN_TESTS": str(tests)},
        ))
