"""``pith-bib latex``: print the biblatex snippet that shows verified pith numbers.

The snippet is a data file inside the package (``data/pith-biblatex.tex``) so
it can be read, diffed and copied as plain LaTeX; this module only finds it
and prints it. Why biblatex needs a snippet at all: biber drops fields its data
model does not know, and no standard style prints a pith number, so the
snippet maps ``pith``/``pith_status`` into kept fields and adds the bibmacro.
"""

from __future__ import annotations

import argparse
import sys
from importlib import resources
from pathlib import Path

from .atomic import write_atomic

SNIPPET_NAME = "pith-biblatex.tex"


def biblatex_snippet() -> str:
    """The biblatex preamble snippet, exactly as shipped."""
    return (resources.files("pith_bib") / "data" / SNIPPET_NAME).read_text(encoding="utf-8")


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``latex`` on the main CLI's subparsers (the lead wires this into cli.py)."""
    parser = subparsers.add_parser(
        "latex",
        help="print the biblatex snippet that shows verified pith numbers",
        description=(
            "Print a biblatex + biber preamble snippet: a source map that keeps the pith "
            "and pith_status fields, and a bibmacro that prints the number, linked to its "
            "resolver page, after the DOI/eprint of entries whose status is verified or "
            "record-verified. \\input it after \\usepackage{biblatex}."
        ),
    )
    parser.add_argument(
        "-o", "--output", metavar="FILE",
        help=f"write the snippet to FILE (e.g. {SNIPPET_NAME}) instead of standard output",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print (or write) the snippet; 0 on success."""
    text = biblatex_snippet()
    output = getattr(args, "output", None)
    if not output or output == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return 0
    write_atomic(Path(output), text.encode("utf-8"))  # WriteError is a PithBibError
    return 0
