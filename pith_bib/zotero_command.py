"""``pith-bib zotero``: put verified pith numbers into a Zotero library's Extra field.

This module only declares the command line. The work (Zotero client, resolver,
sync) lives in :mod:`pith_bib.zotero_run` and is imported when the command
runs, because the main parser is built for every ``pith-bib`` call and
``pith-bib check`` in a pre-commit hook must never load the network stack.
"""

from __future__ import annotations

import argparse
import importlib

from . import cli as cli_module

DEFAULT_ZOTERO_URL = "https://api.zotero.org"


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]
               ) -> argparse.ArgumentParser:
    """Register ``zotero`` on the main CLI's subparsers (``handler=run``)."""
    parser = subparsers.add_parser(
        "zotero",
        help="write verified pith numbers into a Zotero library (Extra: tex.pith)",
        description=(
            "Read a Zotero library through the Web API, resolve and verify each item's "
            "arXiv id or DOI, and add 'tex.pith: NUMBER' and 'tex.pith_status: STATUS' "
            "lines to its Extra field (Better BibTeX exports them as fields). Only items "
            "whose Extra really changes are written; a second run writes nothing. The API "
            "key is read from the environment variable ZOTERO_API_KEY, never from the "
            "command line or a repository's config."),
    )
    parser.add_argument("--library", metavar="users/ID|groups/ID",
                        help="the library (default: zotero_library from the config)")
    parser.add_argument("--collection", metavar="KEY",
                        help="only the top-level items of this collection")
    parser.add_argument("--dry-run", action="store_true", help="send no write request")
    parser.add_argument("--diff", action="store_true",
                        help="show each Extra change as a diff; send no write request")
    parser.add_argument("--json", action="store_true", help="one record per item")
    parser.add_argument("--full", action="store_true",
                        help="read every item, not only those changed since the last run")
    parser.add_argument("--local-api", action="store_true",
                        help="read through Zotero 7's local API (read-only: a dry run)")
    parser.add_argument("--zotero-url", metavar="URL",
                        help=f"Zotero Web API root (default {DEFAULT_ZOTERO_URL})")
    parser.add_argument("--lock", metavar="PATH", type=cli_module.path_argument,
                        help="also write the lock file 'pith-bib check' needs for the "
                             "Better BibTeX export (implies --full)")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every item")
    cli_module.add_network_options(parser)
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the command; the exit code as ``annotate``'s (0 ok, 1 findings, 2 usage)."""
    runner = importlib.import_module(".zotero_run", __package__)
    return int(runner.run(args))
