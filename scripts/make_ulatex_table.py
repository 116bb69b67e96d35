"""Write pith_bib/data/ulatex_table.json from the installed latexcodec.

Run: .venv/bin/python scripts/make_ulatex_table.py
Why a shipped copy: building latexcodec's table at import costs about 25 ms of
every run that meets a backslash; reading it as JSON costs about 2 ms. The test
``test_the_shipped_latex_table_is_latexcodecs`` fails when the installed
latexcodec's table differs, and says to run this script.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pith_bib.ulatex import TABLE_PATH, table_from_latexcodec, table_json


def main() -> None:
    TABLE_PATH.write_text(table_json(table_from_latexcodec()), encoding="utf-8")
    print(f"wrote {TABLE_PATH}")


if __name__ == "__main__":
    main()
