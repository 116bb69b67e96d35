"""Run ``pith-bib`` the way users do (a real subprocess) on copies of real files.

Also builds a local mirror for any .bib: one bundle per arXiv id it cites,
signed by a test key, titled as the entry is titled, so annotate and check
can run end to end on corpus files without the registry.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from nacl.signing import SigningKey

from pith_bib.bibfile import parse
from pith_bib.ids import extract
from pith_bib.publish import build_bundle, document_bytes
from pith_bib.titles import latex_to_text
from tests.support import fixed_key

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_libraries"
SAMPLE_MIRROR = SAMPLES / "mirror"


def run_cli(*args: str, cache: Path, cwd: Path | None = None, timeout: float = 120
            ) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PITH_BIB_CACHE_DIR=str(cache), PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "pith_bib", *args], capture_output=True,
                          text=True, check=False, timeout=timeout, cwd=cwd, env=env)


def copy_sample(name: str, folder: Path) -> Path:
    target = folder / name
    shutil.copyfile(SAMPLES / name, target)
    return target


def mirror_for_bib(bib_path: Path, root: Path, key: SigningKey | None = None) -> int:
    """Write a signed bundle for every arXiv id in ``bib_path``; returns how many."""
    key = key or fixed_key(11)
    bib = parse(bib_path.read_bytes(), str(bib_path))
    written: set[str] = set()
    for entry in bib.entries:
        ids = extract(entry)
        if ids.arxiv_id is None or ids.arxiv_id in written:
            continue
        title = latex_to_text(entry.get("title") or "") or f"Untitled {ids.arxiv_id}"
        doc = build_bundle(ids.arxiv_id, ids.arxiv_version or 1, title,
                           "2020-01-02T03:04:05Z", key, "test-key")
        folder = root / "pith" / doc["pith_number"].rsplit(":", 1)[1]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "bundle.json").write_bytes(document_bytes(doc))
        written.add(ids.arxiv_id)
    return len(written)


def trust_args(key: SigningKey | None = None) -> list[str]:
    key = key or fixed_key(11)
    return ["--trust-key", bytes(key.verify_key).hex()]


def annotated_papers(folder: Path, count: int = 12) -> tuple[Path, Path]:
    """``many.bib`` with ``count`` arXiv papers, annotated from a signed mirror; (bib, lock)."""
    bib = folder / "many.bib"
    bib.write_text("".join(
        f"@article{{paper{i},\n  title = {{Paper number {i}}},\n  eprint = {{2101.{i:05d}}},\n"
        "  archivePrefix = {arXiv}\n}\n\n" for i in range(1, count + 1)))
    mirror_for_bib(bib, folder / "mirror")
    result = run_cli("annotate", "--offline", "--mirror", str(folder / "mirror"),
                     *trust_args(), str(bib), cache=folder / "cache")
    assert result.returncode == 0, result.stdout + result.stderr
    return bib, folder / "many.pith-lock.json"


def deferred_check_findings(bib: Path, lock_path: Path) -> list[str]:
    """What ``pith-bib check`` finds with no cached verdicts (every lock line deferred)."""
    from pith_bib.check import check_bib
    from pith_bib.entry_query import FieldNames
    from pith_bib.lock import load_lock
    from pith_bib.policy import entry_policy
    from pith_bib.trust import TrustRoot

    trust = TrustRoot.default().with_key(bytes(fixed_key(11).verify_key))
    lock = load_lock(lock_path, known=lambda lines, digest: {}, defer=True)
    result = check_bib(bib, bib.read_bytes(), lock, lock_path, FieldNames(), trust,
                       policy=entry_policy())
    return [str(f) for f in result.findings]
