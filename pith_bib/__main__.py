"""``python -m pith_bib`` runs the command line, for environments without the script."""

from .cli import run

run()
