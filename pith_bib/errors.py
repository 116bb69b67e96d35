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


class JsonFormatError(PithBibError, ValueError):
    """JSON that is not strict, bounded JSON (too big, too deep, duplicate keys, NaN)."""


class FetchError(PithBibError):
    """A mirror could not deliver a document (network, HTTP status, limits)."""


class CacheError(PithBibError):
    """The on-disk cache is unusable (permissions, full disk, foreign layout)."""


class LockFileError(PithBibError):
    """The lock file is unreadable or not a pith-bib lock file."""


class WriteError(PithBibError):
    """An atomic write could not be completed; the original file is untouched."""


class ArxivMetadataError(PithBibError, ValueError):
    """arXiv metadata (an API answer, a snapshot line) is malformed or not usable."""


class CslJsonError(BibError):
    """A CSL-JSON file cannot be read or edited safely (names the item when known)."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None,
                 item_id: str | None = None) -> None:
        self.item_id = item_id
        if item_id is not None:
            shown = item_id if len(item_id) <= 80 else item_id[:77] + "..."
            message = f"item {shown!r}: {message}"
        super().__init__(message, path, line)


class CslJsonEditError(CslJsonError):
    """An edit was asked of a CSL-JSON item that cannot be edited safely."""


class ZoteroError(PithBibError):
    """The Zotero API refused or failed a request (the API key is never in the message)."""


class ZoteroAuthError(ZoteroError):
    """The API key is missing, wrong, or lacks access to the library (HTTP 403)."""


class ZoteroConnectionError(ZoteroError):
    """The Zotero API could not be reached, or stopped answering in time."""


class ZoteroRateLimitError(ZoteroError):
    """Zotero asked us to wait longer than we are allowed to (429/503, Backoff)."""


class FileReadError(PithBibError):
    """A file is not safe to read: not a regular file, too big, outside its tree, unreadable."""


class ConcurrentModificationError(WriteError):
    """The file changed under us (another program saved it); our write was not kept."""
