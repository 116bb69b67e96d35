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


def add_network_options(parser: argparse.ArgumentParser) -> None:
    """The options every command that resolves identifiers shares."""
    parser.add_argument("--mirror", action="append", metavar="URL|DIR",
                        help="registry, HTTP(S) mirror or local mirror directory; repeatable; "
                             "replaces the default list (https://pith.science)")
    parser.add_argument("--offline", action="store_true",
                        help="use only the lock file, the cache and local mirror directories")
    parser.add_argument("--cache-dir", metavar="DIR", help="cache location (default: user cache)")
    _add_trust_option(parser)
    parser.add_argument("--jobs", type=_positive_int, metavar="N",
                        help="parallel lookups (default 16)")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def settings_from(args: argparse.Namespace, base: Any = None) -> Any:
    """Settings from config (``base``) with command-line flags on top."""
    from pathlib import Path

    from .settings import Settings

    settings = base or Settings()
    if getattr(args, "mirror", None):
        settings.mirrors = list(args.mirror)
    if getattr(args, "offline", False):
        settings.offline = True
    if getattr(args, "cache_dir", None):
        settings.cache_dir = Path(args.cache_dir)
    if getattr(args, "trust_key", None):
        settings.trust_keys = [*settings.trust_keys, *args.trust_key]
    if getattr(args, "jobs", None):
        settings.jobs = args.jobs
    return settings


class Progress:
    """A progress bar on stderr when it is a terminal; silent otherwise."""

    def __init__(self, label: str, enabled: bool | None = None) -> None:
        self.label = label
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._shown = False

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total < 20:
            return
        width = 30
        filled = width * done // total
        bar = "#" * filled + "-" * (width - filled)
        sys.stderr.write(f"\r{self.label} [{bar}] {done}/{total}")
        sys.stderr.flush()
        self._shown = True
        if done == total:
            self.close()

    def close(self) -> None:
        if self._shown:
            sys.stderr.write("\n")
            sys.stderr.flush()
            self._shown = False


def cmd_resolve(args: argparse.Namespace) -> int:
    from .resolver import parse_query

    queries = [parse_query(text) for text in args.identifiers]
    settings = settings_from(args, _load_config_settings(args))
    resolver = settings.resolver()
    progress = Progress("resolving")
    results = resolver.resolve_many(queries, progress)
    progress.close()
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=2, ensure_ascii=False))
    else:
        for result in results:
            number = result.pith_number or "-"
            print(f"{result.query.text} → {number}  {result.status}  {result.source or '-'}")
            for line in (*result.reasons, *result.notes):
                print(f"    {line}")
    return EXIT_OK if all(r.ok for r in results) else EXIT_FINDINGS


def cmd_cache(args: argparse.Namespace) -> int:
    from .cache import Cache

    settings = settings_from(args, _load_config_settings(args))
    cache = Cache(settings.cache_dir)
    if args.action == "clear":
        removed = cache.clear()
        print(f"removed {removed} documents from {cache.root}")
        return EXIT_OK
    info = cache.info()
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        print(f"cache: {info['path']} (layout {info['layout']})")
        print(f"documents: {info['documents']}  records: {info['records']}  "
              f"size: {info['bytes'] / 1024:.1f} KiB")
    return EXIT_OK


def _load_config_settings(args: argparse.Namespace) -> Any:
    loader = globals().get("load_settings_for")
    return loader(args) if loader else None


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

    resolve = sub.add_parser("resolve", help="map arXiv ids, DOIs or pith numbers to verified "
                                            "documents")
    resolve.add_argument("identifiers", nargs="+", metavar="ID")
    resolve.add_argument("--json", action="store_true", help="machine-readable report")
    add_network_options(resolve)
    resolve.set_defaults(handler=cmd_resolve)

    cache = sub.add_parser("cache", help="show or clear the document cache")
    cache.add_argument("action", choices=["info", "clear"])
    cache.add_argument("--cache-dir", metavar="DIR")
    cache.add_argument("--json", action="store_true")
    cache.set_defaults(handler=cmd_cache)

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
