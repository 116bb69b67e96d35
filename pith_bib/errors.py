"""Every exception pith-bib raises, in one place.

Callers (the CLI above all) catch :class:`PithBibError` to turn any expected
failure into one clear line and an exit code, so every failure a user can cause
must be one of these, never a bare ``ValueError`` or ``OSError`` leaking out.
Verification itself never raises: a bad document is a report, not an error.
"""

from __future__ import annotations


class PithBibError(Exception):
    """Base class: an expected failure with a message fit to show a user."""

    exit_code = 2


class UsageError(PithBibError):
    """The command line or a config value asks for something impossible."""


class ConfigError(UsageError):
    """A config file is unreadable or holds an unknown or ill-typed key."""


class PithNumberError(PithBibError, ValueError):
    """Text that should be a pith number is not one in any accepted form."""


class TrustError(PithBibError, ValueError):
    """A key offered to the trust root is malformed."""


class BibError(PithBibError):
    """A .bib file cannot be read or edited safely."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None) -> None:
        self.path = path
        self.line = line
        where = path or "<input>"
        if line is not None:
            where = f"{where}:{line}"
        super().__init__(f"{where}: {message}")


class BibDecodeError(BibError):
    """The file's bytes are not text in any encoding we can round-trip."""


class BibEditError(BibError):
    """An edit was asked of an entry that cannot be edited safely."""


class FetchError(PithBibError):
    """A mirror could not deliver a document (network, HTTP status, limits)."""


class CacheError(PithBibError):
    """The on-disk cache is unusable (permissions, full disk, foreign layout)."""


class LockFileError(PithBibError):
    """The lock file is unreadable or not a pith-bib lock file."""


class WriteError(PithBibError):
    """An atomic write could not be completed; the original file is untouched."""
