"""Project configuration: ``[tool.pith-bib]`` in pyproject.toml, or ``.pith-bib.toml``.

Looked up from the bibliography's folder upwards (the first file found wins),
so a paper repository configures pith-bib once for every hook and command.
Unknown keys are an error naming the key, because a misspelt option that is
silently ignored is worse than none.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError, FileReadError
from .safe_read import read_regular_file

CONFIG_FILE = ".pith-bib.toml"

# key: (type(s), description) — the description is what the README's reference lists.
KEYS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "field": (str, "name of the field holding the pith number (default: pith)"),
    "status_field": (str, "name of the field holding the status (default: pith_status)"),
    "mirrors": (list, "registry URLs, HTTP mirrors or local directories, in order"),
    "lookup_pattern": (str, "URL pattern for registry lookups ({base}, {kind}, {value})"),
    "lock": (str, "lock file path, relative to the config file"),
    "jobs": (int, "parallel lookups"),
    "per_host": (int, "concurrent connections per host"),
    "rate": ((int, float), "requests per second per host"),
    "contact": (str, "email added to the User-Agent so registry operators can reach you"),
    "offline": (bool, "never use the network"),
    "timeout": ((int, float), "read timeout in seconds (more than 0)"),
    "deadline": ((int, float), "whole-request deadline in seconds (more than 0)"),
    "check_titles": (bool, "compare the entry's title with the signed title (default: true)"),
    "author_check": (str, "compare authors with the signed list: fail (default), warn or off"),
    "arxiv_api": (str, "arXiv API base URL for deriving pith numbers (default "
                       "https://export.arxiv.org)"),
    "derive": (bool, "derive pith numbers from arXiv's metadata (default: true)"),
    "zotero_library": (str, "Zotero library: users/<id> or groups/<id>"),
}
# Keys a repository must not set: its config travels with pull requests, and the
# cache and the trust root are the user's own (README, "What a repository can configure").
FORBIDDEN_KEYS = {
    "trust_keys": "trust keys cannot come from a repository's config file (a pull request "
                  "could add its own); pass --trust-key or set PITH_BIB_TRUST_KEYS",
    "cache_dir": "the cache is the user's own; use --cache-dir or PITH_BIB_CACHE_DIR",
    # Which secret is sent, and where: a pull request must not be able to choose.
    "zotero_api_key_env": "the Zotero key's variable cannot be named by a repository's config "
                          "(it could name any secret); ZOTERO_API_KEY is used",
    "zotero_base_url": "the server that receives your Zotero key cannot come from a "
                       "repository's config; use --zotero-url",
}


@dataclass
class Config:
    """The settings read from a config file, and the file they came from (for messages)."""

    values: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def relative(self, key: str) -> Path | None:
        value = self.values.get(key)
        if value is None:
            return None
        base = self.path.parent if self.path else Path.cwd()
        return (base / value).resolve()


def _validate(raw: dict[str, Any], path: Path) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, value in raw.items():
        name = key.replace("-", "_")
        if name in FORBIDDEN_KEYS:
            raise ConfigError(f"{path}: {key!r}: {FORBIDDEN_KEYS[name]}")
        if name not in KEYS:
            known = ", ".join(sorted(KEYS))
            raise ConfigError(f"{path}: unknown key {key!r} in pith-bib config (known: {known})")
        kinds = KEYS[name][0]
        kinds_tuple = kinds if isinstance(kinds, tuple) else (kinds,)
        if (isinstance(value, bool) and bool not in kinds_tuple) or not isinstance(value, kinds):
            raise ConfigError(f"{path}: {key!r} must be {_names(kinds_tuple)}, "
                              f"not {type(value).__name__}")
        if name == "mirrors" and not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{path}: {key!r} must be a list of strings")
        values[name] = value
    return values


def _names(kinds: tuple[type, ...]) -> str:
    names = {str: "a string", list: "a list", int: "a whole number", bool: "true or false",
             float: "a number"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


# A config file, or the pyproject.toml that holds one: far above any real one, a bound
# on one a pull request pads.
MAX_CONFIG_BYTES = 4 * 1024 * 1024


def _read(path: Path) -> dict[str, Any]:
    """The file's TOML; a one-line ConfigError for anything else (it may be hostile)."""
    # imported here: most runs find no config file, and the parser costs start-up time
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        import tomli as tomllib
    try:
        data = read_regular_file(path, MAX_CONFIG_BYTES)
    except FileReadError as exc:
        raise ConfigError(str(exc)) from None
    if data is None:
        raise ConfigError(f"{path}: removed while it was being read")
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not valid TOML (not UTF-8 text)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    except RecursionError:
        raise ConfigError(f"{path}: not valid TOML (nested too deeply)") from None


def _tool_table(data: dict[str, Any], path: Path) -> Any:
    """``[tool.pith-bib]`` of a file's TOML; None when there is none."""
    tool = data.get("tool")
    if tool is None:
        return None
    if not isinstance(tool, dict):
        raise ConfigError(f"{path}: [tool] must be a table")
    return tool.get("pith-bib")


def find_config(start: Path) -> Config:
    """The nearest config at or above ``start``; an empty one when there is none."""
    folder = start if start.is_dir() else start.parent
    for candidate in (folder.resolve(), *folder.resolve().parents):
        dedicated = candidate / CONFIG_FILE
        if dedicated.is_file():
            data = _read(dedicated)
            table = _tool_table(data, dedicated)
            table = data if table is None else table
            if not isinstance(table, dict):
                raise ConfigError(f"{dedicated}: [tool.pith-bib] must be a table")
            return Config(_validate(table, dedicated), dedicated)
        project = candidate / "pyproject.toml"
        if project.is_file():
            table = _tool_table(_read(project), project)
            if table is not None:
                if not isinstance(table, dict):
                    raise ConfigError(f"{project}: [tool.pith-bib] must be a table")
                return Config(_validate(table, project), project)
    return Config()
