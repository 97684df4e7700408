"""Configuration: where it is found, what it may say, and the settings each sink reads.

Nothing here raises on bad input. Each problem (file, key, cause) is recorded as a
:class:`ConfigProblem` and the default is used instead: ``emit_alert`` logs the problems and
carries on, the CLI reports them and exits with status 2.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, Literal, TypeVar

from ._duration import parse_duration
from ._seed_compat import SEED_PROJECT, apply_seed_environment, default_display_name
from ._severity import Severity, parse_severity

__all__ = [
    "DEFAULT_FLUSH_TIMEOUT",
    "DEFAULT_GROUP_BY",
    "DEFAULT_PROJECT",
    "Config",
    "ConfigProblem",
    "SinkSettings",
    "find_config_file",
    "load_config",
    "parse_duration",
    "tocsin_state_dir",
]

DEFAULT_PROJECT: Final = SEED_PROJECT
"""The seed's project name, kept as the default so that its state keys stay the same."""
DEFAULT_FLUSH_TIMEOUT: Final = 10.0

_T = TypeVar("_T")
_ENV_REF: Final = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_TOCSIN_KEYS: Final = frozenset({"enable", "disable", "project", "flush_timeout", "spool"})
# Keys every sink instance accepts, read by tocsin itself rather than by the sink.
COMMON_SINK_KEYS: Final = frozenset(
    {"min_severity", "type", "matchers", "repeat_interval", "group_by", "send_resolved"}
)
DEFAULT_GROUP_BY: Final = ("severity", "title")
"""The labels that make two alerts "the same" for repeat suppression, unless ``group_by`` says otherwise."""
def _suggest(name: str, candidates: Iterable[str]) -> str:
    """``"; did you mean 'state'?"`` for a close candidate, else ``""``."""
    import difflib  # only when a name is wrong

    close = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


# Keys whose values may be credentials: a problem message names the type of their value, never
# the value (a string where a table was expected may well be "Bearer <token>").
_SECRET_WORDS: Final = ("url", "secret", "header", "token", "password", "passwd", "auth", "key", "cookie", "credential")


def _shown(key: str, value: object) -> str:
    """How a problem message shows a value: its type, and its repr only when it cannot be a secret."""
    kind = type(value).__name__
    name = key.rsplit(".", 1)[-1].lower()
    if any(word in name for word in _SECRET_WORDS):
        return kind
    plain = value if isinstance(value, list) else [value]
    if all((isinstance(v, (int, float)) and not isinstance(v, bool)) or v is None or isinstance(v, bool)
           or (isinstance(v, str) and "${" not in v and "://" not in v and len(v) <= 80) for v in plain):
        return f"{kind} {value!r}"
    return kind




@dataclasses.dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with the configuration: where, which key, and what."""

    source: str
    """The file (or environment variable) the value came from."""
    key: str
    """The dotted key, e.g. ``sinks.file.min_severity``."""
    message: str
    level: Literal["error", "warning"] = "error"
    """Errors make the CLI exit with status 2; warnings (unknown keys) are only reported."""

    def __str__(self) -> str:
        return f"{self.source}: {self.key}: {self.message}"


class SinkSettings(Mapping[str, Any]):
    """The ``[sinks.NAME]`` table of one sink instance, with typed, validating getters.

    A sink reads its settings once, in its constructor (or ``sink_configure``), through the
    ``get_*`` methods: a wrong type or value is recorded as a :class:`ConfigProblem` naming the
    file and key, and the default is returned. Keys nobody read are reported as unknown.
    String values may refer to environment variables as ``${NAME}`` so that secrets stay out
    of configuration files.
    """

    def __init__(
        self,
        name: str,
        values: Mapping[str, Any] | None = None,
        *,
        project: str = DEFAULT_PROJECT,
        source: str = "<defaults>",
        environ: Mapping[str, str] | None = None,
        problems: list[ConfigProblem] | None = None,
        type: str | None = None,
        spool: Path | None = None,
    ) -> None:
        self.name = name
        """The instance's name: the NAME of ``[sinks.NAME]`` (the sink's entry-point name for
        its default instance). Log events and ``tocsin sinks`` use it."""
        self.type = type or name
        """The sink plugin this instance runs: its entry-point name (``type = "slack"``)."""
        self.project = project
        """The ``[tocsin] project`` setting, the namespace of this installation."""
        self.source = source
        self._values: dict[str, Any] = dict(values or {})
        self._environ = os.environ if environ is None else environ
        self.problems: list[ConfigProblem] = [] if problems is None else problems
        """Problems found so far (shared with the :class:`Config` these settings came from)."""
        self._read: set[str] = set()
        self.spool = spool
        """The spool file of the network sinks (``[tocsin] spool``), None when disabled."""

    # Mapping protocol: raw values, for sinks that want to look without validation.
    def __getitem__(self, key: str) -> Any:
        self._read.add(key)
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"SinkSettings({self.name!r}, keys={sorted(self._values)})"

    def problem(self, key: str, message: str, level: Literal["error", "warning"] = "error") -> None:
        """Record a problem with ``key`` of this table (for checks the getters cannot make)."""
        self.problems.append(ConfigProblem(self.source, f"sinks.{self.name}.{key}", message, level))

    def _get(self, key: str, default: _T, kinds: tuple[type, ...], what: str) -> Any:
        self._read.add(key)
        if key not in self._values:
            return default
        value = self._values[key]
        # bool is an int: a boolean where a number is expected is a mistake, not 1.
        if isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds):
            return value
        self.problem(key, f"expected {what}, got {_shown(key, value)}")
        return default

    def expand(self, key: str, text: str) -> str:
        """Replace each ``${NAME}`` in ``text`` with the environment variable NAME.

        An unset variable is a problem, and expands to the empty string.
        """

        def sub(match: re.Match[str]) -> str:
            var = match.group(1)
            if var not in self._environ:
                self.problem(key, f"environment variable {var} is not set")
                return ""
            return self._environ[var]

        return _ENV_REF.sub(sub, text)

    def get_str(self, key: str, default: str = "") -> str:
        """A string setting, ``${ENV}`` references expanded."""
        value = self._get(key, None, (str,), "a string")
        return default if value is None else self.expand(key, value)

    def get_bool(self, key: str, default: bool = False) -> bool:
        """A boolean setting (TOML ``true``/``false``)."""
        return bool(self._get(key, default, (bool,), "true or false"))

    def get_int(self, key: str, default: int, *, minimum: int | None = None) -> int:
        """An integer setting, at least ``minimum`` when given."""
        value = int(self._get(key, default, (int,), "an integer"))
        if minimum is not None and value < minimum:
            self.problem(key, f"must be at least {minimum}, got {_shown(key, value)}")
            return default
        return value

    def get_float(self, key: str, default: float, *, minimum: float | None = None) -> float:
        """A number setting (integer or float), at least ``minimum`` when given."""
        value = float(self._get(key, default, (int, float), "a number"))
        if minimum is not None and value < minimum:
            self.problem(key, f"must be at least {minimum}, got {_shown(key, value)}")
            return default
        return value

    def get_duration(self, key: str, default: float) -> float:
        """A duration in seconds: ``"30s"``, ``"10m"``, ``"1h"``, ``"1h30m"`` or a number of seconds."""
        self._read.add(key)
        if key not in self._values:
            return default
        seconds = parse_duration(self._values[key])
        if seconds is None:
            self.problem(key, 'expected a duration like "30s", "10m", "1h" or seconds >= 0, got '
                              + _shown(key, self._values[key]))
            return default
        return seconds

    def get_str_list(self, key: str, default: Sequence[str]) -> tuple[str, ...]:
        """A list of strings (``group_by = ["title", "queue"]``)."""
        value = self._get(key, None, (list,), "a list of strings")
        if value is None:
            return tuple(default)
        if not all(isinstance(v, str) for v in value):
            self.problem(key, "expected a list of strings")
            return tuple(default)
        return tuple(value)

    def get_path(self, key: str, default: Path) -> Path:
        """A path setting: ``${ENV}`` expanded, then ``~`` expanded."""
        text = self.get_str(key, "")
        return Path(text).expanduser() if text else default

    def get_severity(self, key: str, default: Severity) -> Severity:
        """A severity setting: "info", "warning" or "critical", in any case."""
        value = self._get(key, None, (str,), "a severity")
        if value is None:
            return default
        severity = parse_severity(value)
        if severity is None:
            self.problem(key, f"unknown severity {value!r} (expected info, warning or critical)")
            return default
        return severity

    def get_str_map(self, key: str) -> dict[str, str]:
        """A table of strings (``headers = {Authorization = "Bearer ${TOKEN}"}``), expanded."""
        value = self._get(key, {}, (dict,), "a table of strings")
        out: dict[str, str] = {}
        for k, v in value.items():
            if isinstance(v, str):
                out[str(k)] = self.expand(f"{key}.{k}", v)
            else:
                self.problem(f"{key}.{k}", f"expected a string, got {type(v).__name__}")
        return out

    @property
    def environ(self) -> Mapping[str, str]:
        """The environment the configuration was loaded with."""
        return self._environ

    def display_name(self) -> str:
        """The ``display_name`` setting: how chat messages name the installation. By default the
        project, and "AtoCore" for the default project, as the seed wrote it."""
        return self.get_str("display_name", default_display_name(self.project))

    def state_dir(self) -> Path:
        """Where sinks keep files by default: ``$XDG_STATE_HOME/tocsin`` (``~/.local/state/tocsin``)."""
        return tocsin_state_dir(self._environ)

    def unread_keys(self) -> list[str]:
        """Keys present in the table that no getter has read: probably misspelt."""
        return sorted(set(self._values) - self._read - COMMON_SINK_KEYS)


@dataclasses.dataclass
class Config:
    """The whole configuration, with environment overrides applied.

    Build one with :func:`load_config`; ``Config()`` is the configuration of a machine with
    no file and no variables set.
    """

    enable: tuple[str, ...] | None = None
    """When set, only these sinks are loaded and called."""
    disable: tuple[str, ...] = ()
    """These sinks are never loaded (their modules are not even imported)."""
    project: str = DEFAULT_PROJECT
    flush_timeout: float = DEFAULT_FLUSH_TIMEOUT
    """Seconds the flush at interpreter exit may take at most."""
    spool: str | bool = True
    """Where network sinks keep what they could not deliver before the process ended: True for
    ``$XDG_STATE_HOME/tocsin/spool.db``, a path, or False for no spool."""
    # repr=False: the tables hold webhook URLs and the environment holds secrets; printing a
    # Config must not print them.
    sinks: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict, repr=False)
    """The raw ``[sinks.NAME]`` tables."""
    source: str | None = None
    """The file read, if any."""
    problems: list[ConfigProblem] = dataclasses.field(default_factory=list)
    environ: Mapping[str, str] = dataclasses.field(default_factory=lambda: dict(os.environ), repr=False)
    list_sources: dict[str, tuple[str, str]] = dataclasses.field(default_factory=dict, repr=False)
    """Where ``enable`` and ``disable`` came from: (source, key), e.g. ("environment", "TOCSIN_ENABLE")."""

    @property
    def errors(self) -> list[ConfigProblem]:
        """The problems that are errors (not warnings)."""
        return [p for p in self.problems if p.level == "error"]

    def sink_enabled(self, name: str, type: str | None = None) -> tuple[bool, str]:
        """Whether sink instance ``name`` (of plugin ``type``) is to be loaded, and why.

        ``enable`` and ``disable`` list instance names or plugin names: a plugin's name stands
        for every instance of it. ``disable`` wins over ``enable``.
        """
        names = (name,) if type is None or type == name else (name, type)
        if any(n in self.disable for n in names):
            return False, "disabled by config"
        if self.enable is not None and not any(n in self.enable for n in names):
            return False, "not in the enable list"
        return True, "listed in enable" if self.enable is not None else "enabled by default"

    def instance_type(self, name: str) -> str:
        """The plugin that instance ``name`` runs: its table's ``type``, else ``name`` itself."""
        table = self.sinks.get(name)
        kind = table.get("type") if table is not None else None
        return kind.strip() if isinstance(kind, str) and kind.strip() else name

    def instances_of(self, type: str) -> list[str]:
        """The instances of plugin ``type``: every ``[sinks.NAME]`` table that runs it (the one
        named after the plugin first); when there is none, its default instance, ``type``."""
        names = sorted(n for n in self.sinks if self.instance_type(n) == type)
        if type in names:
            names.remove(type)
            names.insert(0, type)
        # A table of another plugin may have taken the name: then there is no default instance.
        return names or ([type] if type not in self.sinks else [])

    def settings_for(self, name: str) -> SinkSettings:
        """The :class:`SinkSettings` of sink instance ``name`` (empty when it has no table)."""
        return SinkSettings(
            name,
            self.sinks.get(name, {}),
            project=self.project,
            source=self.source or "<defaults>",
            environ=self.environ,
            problems=self.problems,
            type=self.instance_type(name),
            spool=self.spool_path(),
        )

    def check_sink_names(self, types: Collection[str]) -> dict[str, str]:
        """Report every sink name that names nothing installed, with a "did you mean" when one
        is close: ``enable``/``disable`` entries (or ``TOCSIN_ENABLE``/``TOCSIN_DISABLE``) and
        ``[sinks.NAME]`` tables without ``type`` are warnings, an unknown ``type`` is an error.

        ``types`` are the installed plugins' names. Returns the instances whose ``type`` is
        unknown, with the reason, so that they can be listed as failed.
        """
        source = self.source or "<defaults>"
        known = set(types)
        instances: set[str] = set()
        unknown: dict[str, str] = {}
        for name in sorted(self.sinks):
            table = self.sinks[name]
            if "type" in table:
                kind = table["type"]
                if not (isinstance(kind, str) and kind.strip()):
                    message = f"expected the name of an installed sink, got {type(kind).__name__}"
                elif kind.strip() not in known:
                    message = (f"unknown sink type {kind.strip()!r}{_suggest(kind.strip(), known)}"
                               f" (installed: {', '.join(sorted(known)) or 'none'})")
                else:
                    instances.add(name)
                    continue
                self.problems.append(ConfigProblem(source, f"sinks.{name}.type", message))
                unknown[name] = message
                instances.add(name)  # an instance all the same (listed as failed): enable may name it
            elif name in known:
                instances.add(name)
            else:
                self.problems.append(ConfigProblem(
                    source, f"sinks.{name}",
                    f"no installed sink is named {name!r}{_suggest(name, known)} (to run an installed sink "
                    f"under this name, add type = \"...\"); this table is not used", "warning"))
        instances.update(t for t in known if self.instances_of(t) == [t])
        candidates = instances | known
        for what, names in (("enable", self.enable or ()), ("disable", self.disable)):
            where, key = self.list_sources.get(what, (source, f"tocsin.{what}"))
            for name in names:
                if name not in candidates:
                    self.problems.append(ConfigProblem(
                        where, key, f"no sink or sink instance is named {name!r}{_suggest(name, candidates)}",
                        "warning"))
        return unknown

    def spool_path(self) -> Path | None:
        """The spool file (``[tocsin] spool``), None when the spool is disabled."""
        if self.spool is False:
            return None
        if isinstance(self.spool, str) and self.spool:
            return Path(self.spool).expanduser()
        return tocsin_state_dir(self.environ) / "spool.db"


def tocsin_state_dir(environ: Mapping[str, str]) -> Path:
    """``$XDG_STATE_HOME/tocsin`` (``~/.local/state/tocsin`` when unset): the one place the
    default files of tocsin live (state store, spool, repeats store), computed once here."""
    base = environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base).expanduser() / "tocsin"


def find_config_file(environ: Mapping[str, str]) -> Path | None:
    """The configuration file to read: ``$TOCSIN_CONFIG``, else ``./tocsin.toml``, else
    ``$XDG_CONFIG_HOME/tocsin/config.toml`` (``~/.config`` when unset); None if none exists.

    ``$TOCSIN_CONFIG`` is returned even when it does not exist, so that the mistake is reported.
    """
    explicit = environ.get("TOCSIN_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    local = Path("tocsin.toml")
    if local.is_file():
        return local
    xdg = environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    candidate = Path(xdg) / "tocsin" / "config.toml"
    return candidate if candidate.is_file() else None


def _names(value: object, source: str, key: str, problems: list[ConfigProblem]) -> tuple[str, ...] | None:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(v.strip() for v in value if v.strip())
    problems.append(ConfigProblem(source, key, f"expected a list of sink names, got {_shown(key, value)}"))
    return None


def _env_names(text: str) -> tuple[str, ...]:
    return tuple(n.strip() for n in text.split(",") if n.strip())


def load_config(path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Read the configuration file (``path``, else :func:`find_config_file`) and apply the
    environment: ``TOCSIN_ENABLE``/``TOCSIN_DISABLE`` (comma-separated names) replace the
    file's lists, ``ATOCORE_ALERT_LOG`` sets the file sink's path, ``ATOCORE_ALERT_WEBHOOK``
    the ``url`` of the discord, slack or webhook sink, by the URL's shape. Never raises."""
    env = dict(os.environ if environ is None else environ)
    config = Config(environ=env)
    problems = config.problems
    file = Path(path).expanduser() if path is not None else find_config_file(env)
    data: dict[str, Any] = {}
    if file is not None:
        source = str(file)
        config.source = source
        # Imported here: a machine with no configuration file should not pay for a TOML parser.
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover - exercised on 3.10 only
            import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]  # 3.10 only
        try:
            with open(file, "rb") as f:
                data = tomllib.load(f)
        except FileNotFoundError:
            problems.append(ConfigProblem(source, "-", "configuration file not found"))
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(ConfigProblem(source, "-", f"cannot read: {exc}"))
        except tomllib.TOMLDecodeError as exc:
            problems.append(ConfigProblem(source, "-", f"invalid TOML: {exc}"))
    source = config.source or "<defaults>"

    for key in sorted(set(data) - {"tocsin", "sinks"}):
        problems.append(ConfigProblem(source, key, "unknown table or key, ignored", "warning"))
    main = data.get("tocsin", {})
    if not isinstance(main, dict):
        problems.append(ConfigProblem(source, "tocsin", "expected a table"))
        main = {}
    for key in sorted(set(main) - _TOCSIN_KEYS):
        problems.append(ConfigProblem(source, f"tocsin.{key}", "unknown key, ignored", "warning"))
    if "enable" in main:
        config.enable = _names(main["enable"], source, "tocsin.enable", problems)
    if "disable" in main:
        config.disable = _names(main["disable"], source, "tocsin.disable", problems) or ()
    if "project" in main:
        project = main["project"]
        if isinstance(project, str) and project.strip() and "/" not in project:
            config.project = project.strip()
        else:
            problems.append(ConfigProblem(source, "tocsin.project",
                                          f"expected a name without '/', got {_shown('project', project)}"))
    if "flush_timeout" in main:
        timeout = main["flush_timeout"]
        if isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and timeout >= 0:
            config.flush_timeout = float(timeout)
        else:
            problems.append(ConfigProblem(source, "tocsin.flush_timeout",
                                          f"expected seconds >= 0, got {_shown('flush_timeout', timeout)}"))

    if "spool" in main:
        spool = main["spool"]
        if isinstance(spool, bool) or (isinstance(spool, str) and spool.strip()):
            config.spool = spool.strip() if isinstance(spool, str) else spool
        else:
            problems.append(ConfigProblem(source, "tocsin.spool", f"expected a path or false, got {spool!r}"))

    sinks = data.get("sinks", {})
    if not isinstance(sinks, dict):
        problems.append(ConfigProblem(source, "sinks", "expected a table of [sinks.NAME] tables"))
        sinks = {}
    for name, table in sinks.items():
        if isinstance(table, dict):
            config.sinks[name] = dict(table)
        else:
            problems.append(ConfigProblem(source, f"sinks.{name}", "expected a table"))

    if env.get("TOCSIN_ENABLE", "").strip():
        config.enable = _env_names(env["TOCSIN_ENABLE"])
        config.list_sources["enable"] = ("environment", "TOCSIN_ENABLE")
    if env.get("TOCSIN_DISABLE", "").strip():
        config.disable = _env_names(env["TOCSIN_DISABLE"])
        config.list_sources["disable"] = ("environment", "TOCSIN_DISABLE")
    apply_seed_environment(config.sinks, env)
    return config
