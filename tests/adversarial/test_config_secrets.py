"""Secrets in ``tocsin config`` (issues 9 and 13) for sinks that are not loaded, and for keys
whose names are not in the exact list: found by the adversarial run after the round."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(30)

CONFIG = """
[sinks.alertmanager]
url = "http://127.0.0.1:9"
bearer_token = "ZsBearerTokenValue1"

[sinks.am2]
type = "alertmanager"
url = "http://127.0.0.1:9"
basic_auth_password = "ZsMisspeltPassword2"
api_key = "ZsApiKeyValue3"
"""


@pytest.mark.parametrize("disable", ["", "alertmanager"])
@pytest.mark.parametrize("args", [["config"], ["config", "--json"], ["config", "--check"]])
def test_tocsin_config_never_prints_a_credential(tmp_path: Path, scenario_env: Callable[..., dict[str, str]],
                                                 args: list[str], disable: str) -> None:
    """BUG (fixed): the secret-key rule of ``tocsin config`` matched whole key names only ({url, urls,
    secret, headers, token, password}); ``bearer_token`` was masked only because the loaded sink
    registered it, so with the sink disabled (or failed to load) it printed in clear, as did
    ``basic_auth_password`` (a misspelt key) and ``api_key``."""
    (tmp_path / "tocsin.toml").write_text(CONFIG)
    env = scenario_env(**({"TOCSIN_DISABLE": disable} if disable else {}))
    run = subprocess.run([sys.executable, "-m", "tocsin", *args], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=30)
    printed = run.stdout + run.stderr
    assert "bearer_token" in printed  # the setting is listed, its value is not
    for secret in ("ZsBearerTokenValue1", "ZsMisspeltPassword2", "ZsApiKeyValue3"):
        assert secret not in printed, f"{secret} printed by tocsin {' '.join(args)}"
