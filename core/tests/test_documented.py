"""A meta-test, as datasette has: every public name and every hook is documented."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

import tocsin
import tocsin.cli
import tocsin.delivery
import tocsin.logging
import tocsin.testing
import tocsin.testing.contract
import tocsin.testing.fixtures
from tocsin import SinkSpec

DOCS = Path(__file__).resolve().parents[2] / "docs"


def documented_names(*files: str) -> set[str]:
    text = "".join((DOCS / f).read_text(encoding="utf-8") for f in files)
    return set(re.findall(r"`([A-Za-z_][\w.]*)", text))


PUBLIC = [(tocsin, n) for n in tocsin.__all__] + [(tocsin.testing, n) for n in tocsin.testing.__all__] + [
    (tocsin.delivery, n) for n in tocsin.delivery.__all__] + [(tocsin.cli, n) for n in tocsin.cli.__all__] + [
    (tocsin.logging, n) for n in tocsin.logging.__all__] + [
    (tocsin.testing.contract, n) for n in tocsin.testing.contract.__all__] + [
    (tocsin.testing.fixtures, n) for n in tocsin.testing.fixtures.__all__]


@pytest.mark.parametrize(("module", "name"), PUBLIC, ids=[f"{m.__name__}.{n}" for m, n in PUBLIC])
def test_public_name_is_in_the_api_reference(module: object, name: str) -> None:
    names = documented_names("api.md")
    qualified = f"{module.__name__}.{name}"  # type: ignore[attr-defined]
    assert name in names or qualified in names, f"{qualified} is public but not in docs/api.md"


@pytest.mark.parametrize(("module", "name"), PUBLIC, ids=[f"{m.__name__}.{n}" for m, n in PUBLIC])
def test_public_object_has_a_docstring(module: object, name: str) -> None:
    obj = getattr(module, name)
    obj = getattr(obj, "__wrapped__", obj)  # a pytest fixture wraps its function
    if hasattr(obj, "_get_wrapped_function"):
        obj = obj._get_wrapped_function()
    if not (inspect.isclass(obj) or inspect.isfunction(obj)) and not callable(obj):
        return  # constants are documented in docs/api.md (checked above)
    assert inspect.getdoc(obj), f"{name} has no docstring"
    if inspect.isclass(obj):
        for attr, member in vars(obj).items():
            if attr.startswith("_") or not inspect.isfunction(member):
                continue
            if hasattr(member, "tocsin_impl") or attr.startswith("test_"):
                continue  # hook implementations are documented by their spec; contract tests by name
            assert inspect.getdoc(member), f"{name}.{attr} has no docstring"


HOOKS = [n for n, f in vars(SinkSpec).items() if hasattr(f, "tocsin_spec")]


def test_there_are_hooks_to_check() -> None:
    assert "alert_emitted" in HOOKS
    assert len(HOOKS) >= 4


@pytest.mark.parametrize("hook", HOOKS)
def test_hookspec_documented_for_sink_authors(hook: str) -> None:
    assert hook in documented_names("writing-a-sink.md"), f"hook {hook} missing from docs/writing-a-sink.md"
    assert inspect.getdoc(getattr(SinkSpec, hook)), f"hook {hook} has no docstring"
