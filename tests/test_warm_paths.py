"""The fast paths of issue 14 give the same answers as the slow ones, and refuse what they must.

- a lock read with the cache's verdicts keeps byte-identical lines unparsed and
  parses every other line as strictly as before;
- ``check`` reuses a verdict only for the very evidence bytes it is bound to,
  reads the cache without changing it, and verifies everything without one;
- bulk cache reads answer what the one-by-one reads answer;
- requests' environment is frozen only when that changes nothing;
- ``check`` builds its command line without the mirror builder's modules.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from pith_bib import TrustRoot, verify_document
from pith_bib.cache import Cache
from pith_bib.check import check_bib
from pith_bib.entry_query import FieldNames
from pith_bib.errors import LockFileError
from pith_bib.evidence import evidence_of, report_from_verdict, verify_evidence
from pith_bib.lock import LockFile, load_lock
from pith_bib.lock_verdicts import vouch_lock
from pith_bib.policy import entry_policy
from pith_bib.settings import freeze_environment
from tests.cli_support import ROOT
from tests.support import REGISTRY, cache_put, seed_bytes

SEED = "001_702a4949302f7c0a.txt"
PID = "DM6GBYSNJHDMWLODXZBVEPYJHJ"
NUMBER = f"pith:2018:{PID}"


@pytest.fixture
def cached(tmp_path: Path) -> tuple[Cache, bytes]:
    cache = Cache(tmp_path / "cache")
    data = seed_bytes(SEED)
    cache_put(cache, data, verify_document(data, REGISTRY))
    return cache, data


def _lock(tmp_path: Path, evidence: object) -> Path:
    lock = LockFile(papers={NUMBER: evidence}, not_found={"arxiv:9999.99999": "not-found"})
    path = tmp_path / "refs.pith-lock.json"
    path.write_bytes(lock.to_bytes())
    return path


def _known(cache: Cache) -> object:
    def known(lines: dict[str, str], digest: str) -> object:
        found, _ = vouch_lock(cache, lines, digest, TrustRoot.default(), read_only=False)
        return {number: verdict.report for number, verdict in found.items()}
    return known


def test_lock_lines_equal_to_cached_evidence_stay_unparsed(
        tmp_path: Path, cached: tuple[Cache, bytes]) -> None:
    cache, data = cached
    evidence = evidence_of(data, verify_document(data, REGISTRY))
    path = _lock(tmp_path, evidence)
    fast = load_lock(path, known=_known(cache))
    strict = load_lock(path)
    assert fast is not None and strict is not None
    assert isinstance(fast.papers[NUMBER], str) and fast.known_report(NUMBER) is not None
    assert fast.evidence(NUMBER) == strict.papers[NUMBER] == evidence
    assert fast.mapping() == strict.mapping() and fast.not_found == strict.not_found
    assert fast.to_bytes() == strict.to_bytes() == path.read_bytes()


def test_a_lock_line_that_differs_is_parsed_and_checked(
        tmp_path: Path, cached: tuple[Cache, bytes]) -> None:
    cache, data = cached
    evidence = evidence_of(data, verify_document(data, REGISTRY))
    evidence["record"]["title"] = "Another title"
    lock = load_lock(_lock(tmp_path, evidence), known=_known(cache))
    assert lock is not None and lock.known_report(NUMBER) is None
    assert lock.papers[NUMBER] == evidence  # parsed, not taken on the cache's word
    assert not check_one(tmp_path, lock, TrustRoot.default()).ok


def test_a_malformed_lock_line_is_refused_as_before(
        tmp_path: Path, cached: tuple[Cache, bytes]) -> None:
    cache, _ = cached
    path = _lock(tmp_path, {"record": {}})
    path.write_text(path.read_text().replace('{"record":{}}', '{"record":{},"record":{}}'))
    for known in (None, _known(cache)):
        with pytest.raises(LockFileError, match="not a pith-bib lock file"):
            load_lock(path, known=known)  # type: ignore[arg-type]


def check_one(tmp_path: Path, lock: LockFile, trust: TrustRoot) -> object:
    bib = tmp_path / "refs.bib"
    bib.write_text(f"@article{{a, title={{T}}, pith={{{NUMBER}}}, pith_status={{verified}}}}\n")
    check_bib(bib, bib.read_bytes(), lock, tmp_path / "refs.pith-lock.json", FieldNames(),
              trust, policy=entry_policy())
    from pith_bib.check import EvidenceVerifier

    return EvidenceVerifier(lock, trust).report(NUMBER)


def test_reused_verdict_says_what_verifying_the_evidence_says(cached: tuple[Cache, bytes]
                                                               ) -> None:
    cache, _ = cached
    verdict = cache.get_verdict(PID, TrustRoot.default())
    assert verdict is not None and verdict.evidence is not None
    reused = report_from_verdict(verdict.report, verdict.evidence)
    fresh = verify_evidence(NUMBER, verdict.evidence.decode(), TrustRoot.default())
    for name in ("status", "pith_number", "arxiv_id", "arxiv_version", "title", "authors"):
        assert getattr(reused, name) == getattr(fresh, name), name


def test_read_only_verdicts_change_nothing(tmp_path: Path, cached: tuple[Cache, bytes]) -> None:
    cache, _ = cached
    trust = TrustRoot.default()
    cache.close()
    assert set(cache.read_only_verdicts([PID, "A" * 26], trust)) == {PID}
    absent = Cache(tmp_path / "nowhere")
    assert absent.read_only_verdicts([PID], trust) == {}
    assert not (tmp_path / "nowhere").exists()
    # a key no longer pinned: nothing to reuse, so check verifies (and refuses) itself
    assert Cache(tmp_path / "cache").read_only_verdicts([PID], TrustRoot([])) == {}


def test_bulk_lookups_answer_what_single_ones_do(cached: tuple[Cache, bytes]) -> None:
    cache, _ = cached
    report = verify_document(seed_bytes(SEED), REGISTRY)
    keys = [("arxiv", report.arxiv_id), ("arxiv", report.arxiv_id.upper()),
            ("arxiv", "0000.00000"), ("doi", "10.1/none")]
    bulk = cache.lookup_many(keys)
    assert bulk == {k: cache.lookup(*k) for k in keys if cache.lookup(*k) is not None}
    assert bulk[keys[0]] == bulk[keys[1]] == NUMBER


def test_environment_frozen_only_when_nothing_changes(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(sys, "platform", "linux")
    session = SimpleNamespace(trust_env=True, verify=True)
    freeze_environment(session, {"REQUESTS_CA_BUNDLE": "/ca.pem"})
    assert session.trust_env is False and session.verify == "/ca.pem"
    for environ in ({"HTTPS_PROXY": "http://p:3128"}, {"no_proxy": "x"}, {"NETRC": "/n"}):
        session = SimpleNamespace(trust_env=True, verify=True)
        freeze_environment(session, environ)
        assert session.trust_env is True and session.verify is True
    (tmp_path / ".netrc").write_text("machine x login y password z\n")
    session = SimpleNamespace(trust_env=True, verify=True)
    freeze_environment(session, {})
    assert session.trust_env is True


def test_check_parser_leaves_the_mirror_builder_unloaded() -> None:
    code = ("import sys\nfrom pith_bib.cli import main\ntry:\n    main(['check', '--help'])\n"
            "except SystemExit:\n    pass\n"
            "print(sorted(m for m in ('pith_bib.cli_mirror', 'pith_bib.mirror_build', "
            "'pith_bib.mirrors', 'latexcodec') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=ROOT)
    assert done.stdout.strip().endswith("[]")


def test_the_collector_is_paused_only_for_the_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """A command's batch runs with the cyclic collector off; the caller's state comes back."""
    import gc

    from pith_bib import cli
    from pith_bib.collector import paused_collector

    states: list[bool] = []
    monkeypatch.setattr(cli, "cmd_check", lambda args: states.append(gc.isenabled()) or 0)
    monkeypatch.setattr(cli, "_BATCH_COMMANDS", frozenset({cli.cmd_check}))
    assert gc.isenabled()
    assert cli.main(["check", "refs.bib"]) == 0
    assert states == [False] and gc.isenabled()
    with paused_collector():
        with paused_collector():
            assert not gc.isenabled()
        assert not gc.isenabled()  # an inner pause leaves the outer one in force
    assert gc.isenabled()
