"""``python -m pith_bib`` runs the command line, for environments without the script."""

import sys

from .cli import main

sys.exit(main())
