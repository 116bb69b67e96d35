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
from collections.abc import Sequence
from pathlib import Path
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


def _config_for(args: argparse.Namespace) -> Any:
    from .config import find_config

    files = getattr(args, "files", None) or []
    start = Path(files[0]).resolve().parent if files else Path.cwd()
    return find_config(start)


def _load_config_settings(args: argparse.Namespace) -> Any:
    """Settings from the nearest config file (flags are applied on top by the caller)."""
    from .settings import Settings

    config = _config_for(args)
    settings = Settings()
    for key in ("lookup_pattern", "jobs", "per_host", "rate", "contact", "trust_keys",
                "offline", "timeout"):  # config keys named like Settings attributes
        value = config.get(key)
        if value is not None:
            setattr(settings, key, list(value) if isinstance(value, list) else value)
    if config.get("mirrors"):
        base = config.path.parent if config.path else Path.cwd()
        settings.mirrors = [m if "://" in m else str((base / m).resolve())
                            for m in config.get("mirrors")]
    if config.get("cache_dir"):
        settings.cache_dir = config.relative("cache_dir")
    args._config = config
    return settings


def _fields(args: argparse.Namespace) -> Any:
    from .annotate import FieldNames

    config = getattr(args, "_config", None)
    get = config.get if config is not None else (lambda key, default=None: default)
    return FieldNames(pith=get("field", "pith"), status=get("status_field", "pith_status"))


def _lock_path_for(args: argparse.Namespace, bib: Any) -> Any:
    from .lock import default_lock_path

    if getattr(args, "lock", None):
        return Path(args.lock)
    config = getattr(args, "_config", None)
    if config is not None and config.get("lock"):
        return config.relative("lock")
    return default_lock_path(bib)


def _single_lock_guard(args: argparse.Namespace, files: list[str]) -> None:
    config = getattr(args, "_config", None)
    if len(files) > 1 and (getattr(args, "lock", None) or (config and config.get("lock"))):
        raise UsageError("one lock path was given for several .bib files; "
                         "annotate them one at a time or drop --lock")


def _read_bib(name: str) -> bytes:
    try:
        return Path(name).read_bytes()
    except OSError as exc:
        raise UsageError(f"{name}: cannot read: {exc.strerror or exc}") from None


def _summary_line(path: Any, outcomes: list[Any]) -> str:
    from collections import Counter

    counted = Counter(o.status for o in outcomes if o.status != "no-identifier")
    actions = Counter(o.action for o in outcomes)
    parts = ", ".join(f"{n} {status}" for status, n in sorted(counted.items())) or "none"
    changed = actions.get("added", 0) + actions.get("updated", 0)
    return (f"{path}: {len(outcomes)} entries, {sum(counted.values())} with identifiers "
            f"({parts}); {changed} entries changed")


def _unified_diff(result: Any) -> str:
    import difflib

    from .bibfile import decode_bib

    old_text, encoding, _ = decode_bib(result.original)
    new_text = (result.new_bytes or result.original)[len(_bom_of(result.original)):].decode(
        encoding)
    return "".join(difflib.unified_diff(
        old_text.splitlines(keepends=True), new_text.splitlines(keepends=True),
        fromfile=f"a/{result.path}", tofile=f"b/{result.path}"))


def _bom_of(data: bytes) -> bytes:
    for bom in (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"):
        if data.startswith(bom):
            return bom
    return b""


def run_annotate(args: argparse.Namespace, files: list[str], quiet: bool = False) -> int:
    """Annotate ``files``; returns the exit code. Used by ``annotate`` and ``watch``."""
    from .annotate import plan, write_result
    from .lock import load_lock

    settings = settings_from(args, _load_config_settings(args))
    fields = _fields(args)
    _single_lock_guard(args, files)
    if args.output and len(files) != 1:
        raise UsageError("-o/--output takes exactly one input file")
    resolver = None
    results = []
    exit_code = EXIT_OK
    for name in files:
        path = Path(name)
        data = _read_bib(name)
        lock_path = _lock_path_for(args, Path(args.output) if args.output else path)
        old_lock = load_lock(lock_path)
        if resolver is None:
            resolver = settings.resolver()
        progress = Progress(f"{path.name}")
        result = plan(path, data, resolver, fields, old_lock, progress)
        progress.close()
        if not (args.dry_run or args.diff):
            write_result(result, Path(args.output) if args.output else None, lock_path)
        results.append(result)
        if result.error is not None:
            exit_code = EXIT_USAGE
        elif any(o.is_problem for o in result.outcomes) and exit_code == EXIT_OK:
            exit_code = EXIT_FINDINGS
    if args.json:
        print(json.dumps([o.to_dict() for r in results for o in r.outcomes], indent=2,
                         ensure_ascii=False))
        return exit_code
    for result in results:
        if args.diff:
            sys.stdout.write(_unified_diff(result))
        if not quiet or result.error or any(o.is_problem for o in result.outcomes):
            print(_summary_line(result.path, result.outcomes))
        for outcome in result.outcomes:
            if outcome.is_problem:
                print(f"{outcome.path}:{outcome.line}: {outcome.key}: {outcome.status}: "
                      + "; ".join(outcome.reasons[:3]))
            elif args.verbose and outcome.status != "no-identifier":
                detail = outcome.pith_number or "; ".join(outcome.reasons[:1])
                print(f"{outcome.path}:{outcome.line}: {outcome.key}: {outcome.status} {detail}")
        if result.error:
            print(f"{result.path}: {result.error}")
        elif args.dry_run or args.diff:
            print(f"{result.path}: dry run, nothing written")
        else:
            written = [str(p) for p, done in ((args.output or result.path, result.wrote),
                                              (result.lock_path, result.wrote_lock)) if done]
            if written:
                print("wrote " + " and ".join(written))
            elif not quiet:
                print(f"{result.path}: already up to date")
    return exit_code


def cmd_annotate(args: argparse.Namespace) -> int:
    return run_annotate(args, args.files)


def cmd_check(args: argparse.Namespace) -> int:
    from .check import check_bib
    from .lock import load_lock

    settings = settings_from(args, _load_config_settings(args))
    fields = _fields(args)
    _single_lock_guard(args, args.files)
    trust = settings.trust_root()
    fetch = None
    if args.online:
        settings.offline = False
        resolver = settings.resolver()

        def fetch(ident: str) -> dict | None:
            from .resolver import Query
            from .verify import EncodedEvidence

            resolution = resolver.resolve(Query("pith", ident, None, f"pith:{ident}"))
            if not resolution.ok or resolution.report is None:
                return None
            evidence = resolution.lock_evidence()
            if isinstance(evidence, EncodedEvidence):
                evidence = evidence.decode()
            return {"number": resolution.pith_number, "evidence": evidence}

    results = []
    for name in args.files:
        path = Path(name)
        lock_path = _lock_path_for(args, path)
        results.append(check_bib(path, _read_bib(name), load_lock(lock_path), lock_path,
                                 fields, trust, fetch))
    findings = [f for r in results for f in r.findings]
    if args.json:
        print(json.dumps([f.to_dict() for f in findings], indent=2, ensure_ascii=False))
    else:
        for finding in findings:
            print(finding)
        checked = sum(r.checked for r in results)
        word = "problem" if len(findings) == 1 else "problems"
        print(f"pith-bib check: {len(results)} file(s), {checked} entries with identifiers, "
              f"{len(findings)} {word}")
    return EXIT_FINDINGS if findings else EXIT_OK


def cmd_watch(args: argparse.Namespace) -> int:
    from .watch import watch

    args.files = [args.file]
    args.dry_run = args.diff = args.json = False
    args.output = None

    def once() -> None:
        try:
            run_annotate(args, [args.file], quiet=True)
        except PithBibError as exc:
            print(f"pith-bib: error: {exc}", file=sys.stderr)

    try:
        watch(Path(args.file), once, interval=args.interval, settle=args.settle)
    except KeyboardInterrupt:
        print("stopped watching")
    return EXIT_OK


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

    annotate = sub.add_parser("annotate", help="write verified pith numbers into .bib files")
    annotate.add_argument("files", nargs="+", metavar="FILE")
    annotate.add_argument("-o", "--output", metavar="OUT", help="write to OUT (one input only)")
    annotate.add_argument("--dry-run", action="store_true", help="write nothing")
    annotate.add_argument("--diff", action="store_true",
                          help="show a unified diff of the changes; write nothing")
    annotate.add_argument("--json", action="store_true", help="one record per entry")
    annotate.add_argument("-v", "--verbose", action="store_true", help="list every entry")
    annotate.add_argument("--lock", metavar="PATH", help="lock file (default: FILE's stem "
                                                       "+ .pith-lock.json)")
    add_network_options(annotate)
    annotate.set_defaults(handler=cmd_annotate)

    check = sub.add_parser("check", help="verify pith numbers against the lock file "
                                         "(pre-commit; offline)")
    check.add_argument("files", nargs="+", metavar="FILE")
    check.add_argument("--online", action="store_true",
                       help="fetch evidence missing from the lock file")
    check.add_argument("--json", action="store_true", help="machine-readable findings")
    check.add_argument("--lock", metavar="PATH")
    add_network_options(check)
    check.set_defaults(handler=cmd_check)

    watcher = sub.add_parser("watch", help="re-annotate a file whenever it is rewritten "
                                           "(Zotero Better BibTeX auto-export)")
    watcher.add_argument("file", metavar="FILE")
    watcher.add_argument("--lock", metavar="PATH")
    watcher.add_argument("--interval", type=float, default=0.5, help="poll every N seconds")
    watcher.add_argument("--settle", type=float, default=1.0,
                         help="wait until unchanged for N seconds")
    watcher.add_argument("-v", "--verbose", action="store_true")
    add_network_options(watcher)
    watcher.set_defaults(handler=cmd_watch)

    cache = sub.add_parser("cache", help="show or clear the document cache")
    cache.add_argument("action", choices=["info", "clear"])
    cache.add_argument("--cache-dir", metavar="DIR")
    cache.add_argument("--json", action="store_true")
    cache.set_defaults(handler=cmd_cache)

    return parser


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
