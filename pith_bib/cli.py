"""The ``pith-bib`` command: parse arguments, call the library, print.

Kept thin on purpose: every decision lives in a library module that can be
used and tested alone. Heavy imports (requests, pybtex) happen inside the
commands that need them, so ``pith-bib check`` in a pre-commit hook starts
fast and never loads the network stack unless asked to go online.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from . import __version__
from .errors import PithBibError, UsageError

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


def _add_trust_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--trust-key", action="append", default=[], metavar="HEX",
        help="also trust this raw Ed25519 public key (64 hex digits); repeatable",
    )


def _trust_root(hex_keys: Sequence[str], config_keys: Sequence[str] = ()) -> Any:
    from .trust import TrustRoot

    trust = TrustRoot.default()
    for key in (*config_keys, *hex_keys):
        trust = trust.with_hex_key(key)
    return trust


def _read_input(name: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read()
    with open(name, "rb") as handle:
        return handle.read()


def cmd_verify(args: argparse.Namespace) -> int:
    from .verify import verify_document

    trust = _trust_root(args.trust_key)
    results: list[dict[str, Any]] = []
    unreadable = False
    for name in args.files:
        label = "<stdin>" if name == "-" else name
        try:
            data = _read_input(name)
        except OSError as exc:
            print(f"{label}: cannot read: {exc.strerror or exc}", file=sys.stderr)
            unreadable = True
            continue
        report = verify_document(data, trust)
        results.append({
            "file": label, "status": report.status, "pith_number": report.pith_number,
            "arxiv_id": report.arxiv_id, "arxiv_version": report.arxiv_version,
            "title": report.title, "key_id": report.key_id, "reasons": report.reasons,
        })
    if args.json:
        print(json.dumps(results, indent=2, ensure_ascii=False))
    else:
        for item in results:
            arxiv = item["arxiv_id"] or "-"
            if item["arxiv_version"]:
                arxiv = f"{arxiv}v{item['arxiv_version']}"
            print(f"{item['file']}: {item['status']} {item['pith_number'] or '-'} {arxiv}")
            for reason in item["reasons"]:
                print(f"    {reason}")
    if unreadable:
        return EXIT_USAGE
    return EXIT_OK if all(r["status"] != "invalid" for r in results) else EXIT_FINDINGS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pith-bib",
        description="Verified pith numbers for the papers in a BibTeX/BibLaTeX bibliography.",
    )
    parser.add_argument("--version", action="version", version=f"pith-bib {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    verify = sub.add_parser("verify", help="verify Pith bundle/state documents")
    verify.add_argument("files", nargs="+", metavar="FILE", help="document files, - for stdin")
    verify.add_argument("--json", action="store_true", help="machine-readable report")
    _add_trust_option(verify)
    verify.set_defaults(handler=cmd_verify)

    for register in _EXTRA_COMMANDS:
        register(sub)
    return parser


_EXTRA_COMMANDS: list[Callable[[Any], None]] = []


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.handler(args))
    except PithBibError as exc:
        if args.debug:
            raise
        print(f"pith-bib: error: {exc}", file=sys.stderr)
        return exc.exit_code if isinstance(exc, UsageError) else EXIT_USAGE
    except KeyboardInterrupt:
        print("pith-bib: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_FINDINGS


if __name__ == "__main__":
    sys.exit(main())
