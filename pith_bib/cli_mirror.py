"""``pith-bib mirror build``: a mirror's alias index from arXiv's metadata snapshot.

Hooked into :mod:`pith_bib.cli` with ``add_parser(sub)``; the handler is ``run``.
Bad snapshot lines are reported, not fatal: arXiv's snapshot is large and a few
odd lines must not cost a multi-minute rebuild, so the exit code is 0 unless the
build itself could not be done (unreadable snapshot, unwritable directory).
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from .alias_index import INDEX_PATH
from .cli import path_argument
from .mirror_build import BuildStats, build_mirror
from .terminal import json_text

EXIT_OK, EXIT_USAGE = 0, 2  # the same codes as pith_bib.cli


class _Progress:
    """``lines, percent, rate`` on stderr when it is a terminal; silent otherwise."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()
        self.start = time.monotonic()
        self.shown = False

    def __call__(self, lines: int, done: int, total: int) -> None:
        if not self.enabled:
            return
        percent = 100 * done // total if total else 100
        rate = lines / max(time.monotonic() - self.start, 1e-6)
        sys.stderr.write(f"\rmirror build: {lines} lines, {percent}% ({rate:,.0f}/s)")
        sys.stderr.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")
            sys.stderr.flush()


def add_parser(subparsers: Any) -> None:
    """Add ``mirror build`` to the ``pith-bib`` sub-command parsers."""
    mirror = subparsers.add_parser("mirror", help="build a local mirror's alias index")
    actions = mirror.add_subparsers(dest="mirror_action", metavar="ACTION", required=True)
    build = actions.add_parser(
        "build", help="derive every paper's pith number from arXiv's metadata snapshot "
                      "and write the sorted alias index OUTDIR/aliases/index.tsv")
    build.add_argument("--arxiv-snapshot", required=True, metavar="FILE", type=path_argument,
                       help="arXiv's bulk metadata (JSON lines, plain or gzip)")
    build.add_argument("outdir", metavar="OUTDIR", type=path_argument,
                       help="mirror directory (created if absent)")
    build.add_argument("--per-file", action="store_true",
                       help="also write one aliases/<kind>/<value> file per alias (for a "
                            "static HTTP mirror; about 3 files per paper, much slower)")
    build.add_argument("--json", action="store_true", help="machine-readable summary")
    build.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    progress = _Progress()
    try:
        stats = build_mirror(args.arxiv_snapshot, args.outdir, progress,
                             per_file=args.per_file)
    finally:
        progress.close()
    if args.json:
        print(json_text({
            "lines": stats.lines, "papers": stats.papers, "index": stats.index,
            "index_lines": stats.aliases, "written": stats.written,
            "unchanged": stats.unchanged, "bad_lines": stats.bad,
            "bad_samples": stats.bad_samples, "stopped": stats.stopped}))
    else:
        print(_summary(stats, args.per_file))
    for sample in stats.bad_samples:
        print(f"  skipped {sample}", file=sys.stderr)
    if stats.bad > len(stats.bad_samples):
        print(f"  ... and {stats.bad - len(stats.bad_samples)} more", file=sys.stderr)
    if stats.stopped:
        kept = "the index was kept as it was" if stats.index == "kept" else \
            "the aliases before it were written"
        print(f"pith-bib: error: {stats.stopped}; {kept}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def _summary(stats: BuildStats, per_file: bool) -> str:
    if stats.index == "kept":
        index = f"{INDEX_PATH} kept as it was"
    else:
        index = f"{INDEX_PATH} {stats.index} ({stats.aliases} aliases)"
    files = (f", {stats.written} alias files written, {stats.unchanged} unchanged"
             if per_file else "")
    return f"{stats.papers} papers: {index}{files}; {stats.bad} bad lines skipped"
