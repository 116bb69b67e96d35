"""The ``pith-bib`` command: parse arguments, call the library, print.

Kept thin on purpose: every decision lives in a library module that can be
used and tested alone, and every command gets its configuration from one
:func:`~pith_bib.settings.load_settings` call. Heavy imports (requests,
urllib3) happen inside the commands that need them, so ``pith-bib check`` in a
pre-commit hook starts fast and never loads the network stack unless asked to
go online. Everything printed that came from a file or a server goes through
:func:`~pith_bib.terminal.clean` first.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from ._version import __version__
from .collector import paused_collector
from .errors import PithBibError, UsageError
from .terminal import clean, json_text, make_output_safe, shortened

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


def _add_trust_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--trust-key", action="append", default=[], metavar="HEX",
        help="also trust this raw Ed25519 public key (64 hex digits); repeatable",
    )


def _read_input(name: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read()
    with open(name, "rb") as handle:
        return handle.read()


def _settings(args: argparse.Namespace, files: Sequence[str] = ()) -> Any:
    """The run's one Settings: config beside the first input file, environment, flags."""
    from .settings import load_settings

    local = [f for f in files if f != "-"]
    start = Path(local[0]).resolve().parent if local else Path.cwd()
    settings = load_settings(args, start=start)
    for line in settings.trust_lines():
        print(f"pith-bib: {clean(line)}", file=sys.stderr)
    return settings


def cmd_verify(args: argparse.Namespace) -> int:
    from .verify import verify_document

    trust = _settings(args, args.files).trust_root()
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
        print(json_text(results))
    else:
        for item in results:
            arxiv = item["arxiv_id"] or "-"
            if item["arxiv_version"]:
                arxiv = f"{arxiv}v{item['arxiv_version']}"
            print(clean(f"{item['file']}: {item['status']} {item['pith_number'] or '-'} "
                        f"{arxiv}"))
            for reason in item["reasons"]:
                print(f"    {clean(reason)}")
    if unreadable:
        return EXIT_USAGE
    return EXIT_OK if all(r["status"] != "invalid" for r in results) else EXIT_FINDINGS


def path_argument(text: str) -> str:
    """A command-line path. An empty one (often an unset shell variable) is refused
    rather than read as "not given": ``-o "$OUT"`` would then write the input in place."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path")
    return text


def add_network_options(parser: argparse.ArgumentParser) -> None:
    """The options every command that resolves identifiers shares."""
    parser.add_argument("--mirror", action="append", metavar="URL|DIR",
                        help="registry, HTTP(S) mirror or local mirror directory; repeatable; "
                             "replaces the default list (https://pith.science)")
    parser.add_argument("--offline", action="store_true",
                        help="use only the lock file, the cache and local mirror directories")
    parser.add_argument("--cache-dir", metavar="DIR", type=path_argument,
                        help="cache location (default: user cache)")
    _add_trust_option(parser)
    parser.add_argument("--jobs", type=_positive_int, metavar="N",
                        help="parallel lookups (default 32)")
    parser.add_argument("--arxiv-api", metavar="URL",
                        help="arXiv API base URL for deriving pith numbers "
                             "(default https://export.arxiv.org)")
    parser.add_argument("--no-derive", action="store_true",
                        help="do not derive pith numbers from arXiv's metadata")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


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
    resolver = _settings(args).resolver()
    progress = Progress("resolving")
    results = resolver.resolve_many(queries, progress=progress)
    progress.close()
    if args.json:
        print(json_text([r.to_dict() for r in results]))
    else:  # one write: with unbuffered output, a line at a time was ~3% of a cold run
        lines = []
        for result in results:
            number = result.pith_number or "-"
            lines.append(clean(f"{result.query.text} → {number}  {result.status}  "
                               f"{result.source or '-'}"))
            lines.extend(f"    {clean(line)}" for line in (*result.reasons, *result.notes))
        if lines:
            print("\n".join(lines))
    _print_warnings(resolver.warnings)
    return EXIT_OK if all(r.ok for r in results) else EXIT_FINDINGS


def cmd_cache(args: argparse.Namespace) -> int:
    from .cache import Cache

    cache = Cache(_settings(args).cache_dir)
    if args.action == "clear":
        removed = cache.clear()
        print(f"removed {removed} documents from {cache.root}")
        return EXIT_OK
    info = cache.info()
    if args.json:
        print(json_text(info))
    else:
        print(f"cache: {info['path']} (layout {info['layout']})")
        print(f"documents: {info['documents']}  records: {info['records']}  "
              f"size: {info['bytes'] / 1024:.1f} KiB")
    return EXIT_OK


def _read_bib(name: str) -> bytes:
    """The input's bytes: a regular file only (a FIFO or /dev/zero would block or never end)."""
    from .errors import FileReadError
    from .safe_read import MAX_INPUT_BYTES, read_regular_file

    try:
        data = read_regular_file(name, MAX_INPUT_BYTES)
    except FileReadError as exc:
        raise UsageError(f"cannot read: {exc}") from None
    if data is None:
        raise UsageError(f"{clean(name)}: cannot read: No such file or directory")
    return data


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
    from .documents import CSL_JSON

    new_bytes = result.new_bytes or result.original
    if getattr(result, "format", None) == CSL_JSON:  # always UTF-8, perhaps with a BOM
        old_text = result.original.decode("utf-8-sig")
        new_text = new_bytes.decode("utf-8-sig")
    else:
        old_text, encoding, _ = decode_bib(result.original)
        new_text = new_bytes[len(_bom_of(result.original)):].decode(encoding)
    return "".join(difflib.unified_diff(
        old_text.splitlines(keepends=True), new_text.splitlines(keepends=True),
        fromfile=f"a/{result.path}", tofile=f"b/{result.path}"))


def _bom_of(data: bytes) -> bytes:
    for bom in (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"):
        if data.startswith(bom):
            return bom
    return b""


@dataclass(frozen=True)
class AnnotateOptions:
    """What ``annotate`` and ``watch`` need besides Settings: where to write, what to show."""

    output: Path | None = None
    dry_run: bool = False
    diff: bool = False
    json: bool = False
    verbose: bool = False
    quiet: bool = False


def _lock_paths(settings: Any, files: Sequence[str], output: Path | None) -> list[Path]:
    """One lock per input, refusing any layout in which one file would overwrite another."""
    if output is not None and len(files) != 1:
        raise UsageError("-o/--output takes exactly one input file")
    if settings.lock is not None and len(files) > 1:
        raise UsageError("one lock path was given for several .bib files; "
                         "annotate them one at a time or drop --lock")
    locks = [settings.lock_path_for(output or Path(name)) for name in files]
    seen: dict[Path, str] = {}
    for name, lock in zip(files, locks, strict=True):
        key = lock.resolve()
        if key in seen:
            raise UsageError(f"{seen[key]} and {name} would share the lock file {lock}; "
                             "annotate them one at a time with --lock")
        seen[key] = name
        written = {Path(name).resolve(), *([output.resolve()] if output else [])}
        if key in written:
            raise UsageError(f"the lock file {lock} would overwrite {name}")
    return locks


def _annotate_files(settings: Any, files: list[str], options: AnnotateOptions) -> list[Any]:
    """Annotate ``files`` and report; the results. Used by ``annotate`` and ``watch``."""
    from .annotate import plan, write_result
    from .lock import load_lock

    lock_paths = _lock_paths(settings, files, options.output)
    resolver = settings.resolver()
    policy = settings.policy()
    results = []
    for name, lock_path in zip(files, lock_paths, strict=True):
        path = Path(name)
        progress = Progress(f"{path.name}")
        old_lock = load_lock(lock_path, known=resolver.vouched_evidence)
        result = plan(path, _read_bib(name), resolver, settings.fields, old_lock,
                      policy=policy, progress=progress)
        progress.close()
        if not (options.dry_run or options.diff):
            write_result(result, options.output, lock_path)
            resolver.remember_lock(result.lock)
        results.append(result)
    _report_annotate(results, options)
    _print_warnings(resolver.warnings)
    return results


def _annotate_exit(results: list[Any]) -> int:
    """2 for input that could not be read or edited (the status table's ``malformed``),
    then 1 for any other problem."""
    if any(r.error is not None for r in results) or \
            any(o.status == "malformed" for r in results for o in r.outcomes):
        return EXIT_USAGE
    if any(o.is_problem for r in results for o in r.outcomes):
        return EXIT_FINDINGS
    return EXIT_OK


def _print_warnings(warnings: Sequence[str]) -> None:
    for warning in warnings:
        print(f"pith-bib: warning: {clean(warning)}", file=sys.stderr)


def _outcome_lines(outcome: Any, verbose: bool) -> list[str]:
    where = f"{outcome.path}:{outcome.line}: {shortened(outcome.key, 200)}"
    lines = []
    if outcome.is_problem:
        lines.append(f"{where}: {outcome.status}: " + "; ".join(outcome.reasons[:3]))
    elif verbose and outcome.status != "no-identifier":
        detail = outcome.pith_number or "; ".join(outcome.reasons[:1])
        lines.append(f"{where}: {outcome.status} {detail}")
    lines += [f"{where}: warning: {w}" for w in outcome.warnings]
    return [clean(line) for line in lines]


def _report_annotate(results: list[Any], options: AnnotateOptions) -> None:
    if options.json:
        print(json_text([o.to_dict() for r in results for o in r.outcomes]))
        return
    for result in results:
        if options.diff:
            sys.stdout.write(clean(_unified_diff(result), keep_newlines=True))
        if not options.quiet or result.error or any(o.is_problem for o in result.outcomes):
            print(clean(_summary_line(result.path, result.outcomes)))
        for outcome in result.outcomes:
            for line in _outcome_lines(outcome, options.verbose):
                print(line)
        written = _written_line(result, options)
        if written:
            print(clean(written))


def _written_line(result: Any, options: AnnotateOptions) -> str:
    if result.error:
        return f"{result.path}: {result.error}"
    if options.dry_run or options.diff:
        return f"{result.path}: dry run, nothing written"
    written = [str(p) for p, done in ((options.output or result.path, result.wrote),
                                      (result.lock_path, result.wrote_lock)) if done]
    if written:
        return "wrote " + " and ".join(written)
    return "" if options.quiet else f"{result.path}: already up to date"


def cmd_annotate(args: argparse.Namespace) -> int:
    options = AnnotateOptions(output=Path(args.output) if args.output else None,
                              dry_run=args.dry_run, diff=args.diff, json=args.json,
                              verbose=args.verbose)
    return _annotate_exit(_annotate_files(_settings(args, args.files), args.files, options))


def _online_fetcher(settings: Any) -> Any:
    """``check --online``: evidence for numbers missing from the lock, via the resolver."""
    from dataclasses import replace

    from .policy import Query

    resolver = replace(settings, offline=False).resolver()

    def fetch(ident: str) -> dict | None:
        resolution = resolver.resolve(Query("pith", ident, None, f"pith:{ident}"))
        if not resolution.ok or resolution.report is None:
            return None
        evidence = resolution.lock_evidence()
        if not isinstance(evidence, dict):
            evidence = evidence.decode()
        return {"number": resolution.pith_number, "evidence": evidence}

    return fetch


def _cached_verdicts(settings: Any, trust: Any) -> Any:
    """``check``'s ``known`` evidence: verdicts annotate stored in the user's own cache.

    Read-only; the cache is the user's (flag or environment, never repository
    configuration). Evidence whose bytes equal a stored verdict's, under keys
    still pinned, is not verified again; with no cache everything is.
    """
    from .lock_verdicts import vouch_lock

    cache = settings.cache()

    def known(lines: Any, digest: str) -> Any:
        found, _ = vouch_lock(cache, lines, digest, trust, read_only=True)
        return {number: verdict.report for number, verdict in found.items()}

    return known


def cmd_check(args: argparse.Namespace) -> int:
    from .check import check_bib
    from .lock import load_lock

    settings = _settings(args, args.files)
    if settings.lock is not None and len(args.files) > 1:
        raise UsageError("one lock path was given for several .bib files; "
                         "check them one at a time or drop --lock")
    trust = settings.trust_root()
    policy = settings.policy()
    fetch = _online_fetcher(settings) if args.online else None
    known = _cached_verdicts(settings, trust)
    results = []
    for name in args.files:
        path = Path(name)
        lock_path = settings.lock_path_for(path)
        lock = load_lock(lock_path, known=known, defer=True)
        results.append(check_bib(path, _read_bib(name), lock, lock_path,
                                 settings.fields, trust, policy=policy, fetch_missing=fetch))
    findings = [f for r in results for f in r.findings]
    if args.json:
        print(json_text([f.to_dict() for f in findings]))
    else:
        _print_check(results, findings)
    if any(r.malformed for r in results):
        return EXIT_USAGE  # input that cannot be read, as annotate says of it
    return EXIT_FINDINGS if findings else EXIT_OK


def _print_check(results: list[Any], findings: list[Any]) -> None:
    for finding in findings:
        print(clean(str(finding)))
    for warning in (w for r in results for w in r.warnings):
        print(clean(f"{warning} (warning)"))
    checked = sum(r.checked for r in results)
    not_found = sum(r.passed_as_not_found for r in results)
    unchecked = sum(r.authors_unchecked for r in results)
    authors = f", {unchecked} with authors unchecked (record-verified)" if unchecked else ""
    word = "problem" if len(findings) == 1 else "problems"
    print(f"pith-bib check: {len(results)} file(s), {checked} entries with identifiers, "
          f"{not_found} passed only as not-found in the lock{authors}, {len(findings)} {word}")


def cmd_watch(args: argparse.Namespace) -> int:
    from .watch import watch

    settings = _settings(args, [args.file])
    options = AnnotateOptions(verbose=args.verbose, quiet=True)

    def once() -> bytes | None:
        """The bytes the file holds after this run, as far as this run knows."""
        try:
            with paused_collector():
                (result,) = _annotate_files(settings, [args.file], options)
        except PithBibError as exc:
            print(f"pith-bib: error: {clean(str(exc))}", file=sys.stderr)
            return None
        return result.new_bytes if result.wrote else result.original

    _lock_paths(settings, [args.file], None)  # a path that can have no lock: refused now
    try:
        watch(Path(args.file), once, interval=args.interval, settle=args.settle)
    except KeyboardInterrupt:
        print("stopped watching")
    return EXIT_OK


# Commands whose work is one bounded batch over the input: they run with the cyclic
# collector paused (see pith_bib.collector).
_BATCH_COMMANDS = frozenset({cmd_verify, cmd_resolve, cmd_annotate, cmd_check})


def _command_in(argv: Sequence[str]) -> str | None:
    """The sub-command named (the first word that is not an option), if any.

    None when a help flag comes first (argparse takes ``--he`` for ``--help`` too): the
    top-level help lists every command.
    """
    for word in argv:
        if word == "-h" or (len(word) > 2 and "--help".startswith(word)):
            return None
        if not word.startswith("-"):
            return word
    return None


def _add_verify(sub: Any) -> None:
    verify = sub.add_parser("verify", help="verify Pith bundle/state documents")
    verify.add_argument("files", nargs="+", metavar="FILE", type=path_argument,
                        help="document files, - for stdin")
    verify.add_argument("--json", action="store_true", help="machine-readable report")
    _add_trust_option(verify)
    verify.set_defaults(handler=cmd_verify)


def _add_resolve(sub: Any) -> None:
    resolve = sub.add_parser("resolve", help="map arXiv ids, DOIs or pith numbers to verified "
                                            "documents")
    resolve.add_argument("identifiers", nargs="+", metavar="ID")
    resolve.add_argument("--json", action="store_true", help="machine-readable report")
    add_network_options(resolve)
    resolve.set_defaults(handler=cmd_resolve)


def _add_annotate(sub: Any) -> None:
    annotate = sub.add_parser("annotate", help="write verified pith numbers into .bib files")
    annotate.add_argument("files", nargs="+", metavar="FILE", type=path_argument)
    annotate.add_argument("-o", "--output", metavar="OUT", type=path_argument,
                          help="write to OUT (one input only)")
    annotate.add_argument("--dry-run", action="store_true", help="write nothing")
    annotate.add_argument("--diff", action="store_true",
                          help="show a unified diff of the changes; write nothing")
    annotate.add_argument("--json", action="store_true", help="one record per entry")
    annotate.add_argument("-v", "--verbose", action="store_true", help="list every entry")
    annotate.add_argument("--lock", metavar="PATH", type=path_argument,
                          help="lock file (default: FILE's stem + .pith-lock.json)")
    add_network_options(annotate)
    annotate.set_defaults(handler=cmd_annotate)


def _add_check(sub: Any) -> None:
    check = sub.add_parser("check", help="verify pith numbers against the lock file "
                                         "(pre-commit; offline)")
    check.add_argument("files", nargs="+", metavar="FILE", type=path_argument)
    check.add_argument("--online", action="store_true",
                       help="fetch evidence missing from the lock file")
    check.add_argument("--json", action="store_true", help="machine-readable findings")
    check.add_argument("--lock", metavar="PATH", type=path_argument)
    add_network_options(check)
    check.set_defaults(handler=cmd_check)


def _add_watch(sub: Any) -> None:
    watcher = sub.add_parser("watch", help="re-annotate a file whenever it is rewritten "
                                           "(Zotero Better BibTeX auto-export)")
    watcher.add_argument("file", metavar="FILE", type=path_argument)
    watcher.add_argument("--lock", metavar="PATH", type=path_argument)
    watcher.add_argument("--interval", type=float, default=0.5, help="poll every N seconds")
    watcher.add_argument("--settle", type=float, default=1.0,
                         help="wait until unchanged for N seconds")
    watcher.add_argument("-v", "--verbose", action="store_true")
    add_network_options(watcher)
    watcher.set_defaults(handler=cmd_watch)


def _add_cache(sub: Any) -> None:
    cache = sub.add_parser("cache", help="show or clear the document cache")
    cache.add_argument("action", choices=["info", "clear"])
    cache.add_argument("--cache-dir", metavar="DIR", type=path_argument)
    cache.add_argument("--json", action="store_true")
    cache.set_defaults(handler=cmd_cache)


# The core commands, in the order ``--help`` lists them.
_CORE = {"verify": _add_verify, "resolve": _add_resolve, "annotate": _add_annotate,
         "check": _add_check, "watch": _add_watch, "cache": _add_cache}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line: for a core ``command``, only that command's; else every command's.

    Why: registering every command's options was 4 ms of a ``check`` in a
    pre-commit hook, and registering ``latex``, ``mirror`` and ``zotero`` imports
    their modules (the mirror builder pulls in the HTTP mirror code). ``--help``,
    a mistyped command and the other commands get the whole command line.
    """
    parser = argparse.ArgumentParser(
        prog="pith-bib",
        description="Verified pith numbers for the papers in a BibTeX/BibLaTeX bibliography.",
    )
    parser.add_argument("--version", action="version", version=f"pith-bib {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    if command in _CORE:
        _CORE[command](sub)
        return parser
    for add in _CORE.values():
        add(sub)
    from . import cli_mirror, latex, zotero_command

    latex.add_parser(sub)
    cli_mirror.add_parser(sub)
    zotero_command.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None, *, last: bool = False) -> int:
    """Run one command; the exit code. ``last``: the process ends after it (see :func:`run`)."""
    make_output_safe()
    words = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_command_in(words))
    argv = words
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        if args.handler not in _BATCH_COMMANDS:  # watch pauses per run; zotero is network
            return int(args.handler(args))
        with paused_collector(resume=not last):
            return int(args.handler(args))
    except PithBibError as exc:
        if args.debug:
            raise
        print(f"pith-bib: error: {clean(str(exc))}", file=sys.stderr)
        return exc.exit_code if isinstance(exc, UsageError) else EXIT_USAGE
    except KeyboardInterrupt:
        print("pith-bib: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_FINDINGS


def run() -> NoReturn:
    """The ``pith-bib`` console script: one command, then a quick exit (:mod:`.process_exit`)."""
    from .process_exit import exit_now

    exit_now(main(last=True))


if __name__ == "__main__":
    run()
