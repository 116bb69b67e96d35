"""Suite-wide: no test may reach the real arXiv (there is no network here, and CI must not try).

Every ``pith-bib`` process a test starts inherits ``PITH_BIB_ARXIV_API`` pointing at a
closed loopback port, so derivation fails at once, cleanly, unless a test points it at
its own loopback fake, and a private ``PITH_BIB_DATA_DIR`` for the verdict key.
"""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("PITH_BIB_ARXIV_API", "http://127.0.0.1:9")
# The key that authenticates cached verdicts lives outside the cache: one per test run.
os.environ.setdefault("PITH_BIB_DATA_DIR", tempfile.mkdtemp(prefix="pith-bib-data-"))
