"""An offline ``check`` (the pre-commit hook) loads neither the resolver nor the network stack.

What it shares with ``annotate`` lives in ``entry_query``/``policy``/``documents``;
a hook that imported the resolver, the cache or requests would pay for them on
every commit and could not be trusted to stay offline.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.cli_support import ROOT, SAMPLE_MIRROR, copy_sample, run_cli

# The user cache may be read (check reuses verdicts annotate stored there), never more.
FORBIDDEN = ("requests", "urllib3", "http.client", "pith_bib.resolver", "pith_bib.mirrors",
             "pith_bib.arxiv", "pith_bib.derived_hints", "pith_bib.annotate")


def test_offline_check_imports_no_resolver_cache_or_network(tmp_path: Path) -> None:
    bib = copy_sample("zotero-biblatex.bib", tmp_path)
    done = run_cli("annotate", "--offline", "--mirror", str(SAMPLE_MIRROR), str(bib),
                   cache=tmp_path / "cache")
    assert done.returncode == 0, done.stdout + done.stderr
    probe = ("import sys; from pith_bib.cli import main; code = main(['check', sys.argv[1]]); "
             f"print(code, sorted(m for m in {FORBIDDEN!r} if m in sys.modules))")
    env = dict(os.environ, PYTHONPATH=str(ROOT), PITH_BIB_CACHE_DIR=str(tmp_path / "c"))
    out = subprocess.run([sys.executable, "-c", probe, str(bib)], capture_output=True,
                         text=True, check=True, env=env).stdout.splitlines()[-1]
    assert out == "0 []"
