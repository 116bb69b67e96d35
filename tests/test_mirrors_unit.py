"""Header, redirect, status and retry-policy logic of the HTTP mirror, with ``responses``."""

from __future__ import annotations

import pytest
import responses
from urllib3 import HTTPResponse

from pith_bib import __version__
from pith_bib.errors import FetchError, UsageError
from pith_bib.mirrors import (
    RETRY_AFTER_CAP,
    HostLimits,
    HttpMirror,
    HttpSettings,
    alias_path,
    make_mirror,
    make_session,
    pith_numbers_in,
    user_agent,
)

BASE = "https://mirror.example"
PID = "DM6GBYSNJHDMWLODXZBVEPYJHJ"
URL = f"{BASE}/pith/{PID}/bundle.json"


def mirror(**kwargs: object) -> HttpMirror:
    return HttpMirror(BASE, make_session(contact=kwargs.pop("contact", None)),  # type: ignore[arg-type]
                      HostLimits(rate=0), HttpSettings(), **kwargs)  # type: ignore[arg-type]


@responses.activate
def test_headers_name_pith_bib_version_and_contact() -> None:
    responses.get(URL, body=b"{}", content_type="application/json")
    assert mirror(contact="me@example.org").fetch(PID, "bundle") == b"{}"
    sent = responses.calls[0].request.headers
    assert sent["User-Agent"] == (
        f"pith-bib/{__version__} (+https://github.com/pith-science/pith-bib; "
        "mailto:me@example.org)")
    assert sent["Accept"].startswith("application/json")


def test_user_agent_without_contact() -> None:
    assert user_agent() == f"pith-bib/{__version__} (+https://github.com/pith-science/pith-bib)"


@responses.activate
def test_404_means_not_on_this_mirror() -> None:
    responses.get(URL, status=404)
    assert mirror().fetch(PID, "bundle") is None


@responses.activate
@pytest.mark.parametrize("status", [400, 401, 403, 500, 503])
def test_other_statuses_are_errors_naming_the_url(status: int) -> None:
    responses.get(URL, status=status)
    with pytest.raises(FetchError, match=f"{URL}: HTTP {status}"):
        mirror().fetch(PID, "bundle")


@responses.activate
@pytest.mark.parametrize("ctype", ["application/json; charset=utf-8", "application/ld+json",
                                   "application/vnd.pith+json"])
def test_json_content_types_are_accepted(ctype: str) -> None:
    responses.get(URL, body=b"{}", content_type=ctype)
    assert mirror().fetch(PID, "bundle") == b"{}"


@responses.activate
@pytest.mark.parametrize("ctype", ["text/html", "application/octet-stream", ""])
def test_other_content_types_are_refused(ctype: str) -> None:
    responses.get(URL, body=b"{}", content_type=ctype)
    with pytest.raises(FetchError, match="unexpected Content-Type"):
        mirror().fetch(PID, "bundle")


@responses.activate
def test_declared_length_over_the_cap_is_refused_before_reading() -> None:
    responses.get(URL, body=b"{}", content_type="application/json",
                  headers={"Content-Length": str(10**9)}, auto_calculate_content_length=False)
    with pytest.raises(FetchError, match="over the 4194304-byte limit"):
        mirror().fetch(PID, "bundle")


@responses.activate
def test_redirect_from_https_to_http_is_refused() -> None:
    responses.get(URL, status=302, headers={"Location": URL.replace("https", "http")})
    with pytest.raises(FetchError, match="refused redirect from https to http"):
        mirror().fetch(PID, "bundle")


@responses.activate
def test_redirect_to_another_host_is_refused() -> None:
    responses.get(URL, status=307, headers={"Location": "https://evil.example/x.json"})
    with pytest.raises(FetchError, match=r"another host \(evil.example\)"):
        mirror().fetch(PID, "bundle")


@responses.activate
def test_relative_redirect_on_the_same_host_is_followed() -> None:
    responses.get(URL, status=301, headers={"Location": "/elsewhere.json"})
    responses.get(f"{BASE}/elsewhere.json", body=b"{}", content_type="application/json")
    assert mirror().fetch(PID, "bundle") == b"{}"


@responses.activate
def test_alias_lookup_reads_a_plain_text_pith_number() -> None:
    responses.get(f"{BASE}/aliases/arxiv/hep-th/9901001", body=f"pith:1999:{PID}\n",
                  content_type="application/octet-stream")
    assert mirror().lookup("arxiv", "hep-th/9901001") == [f"pith:1999:{PID}"]


@responses.activate
def test_lookup_pattern_is_tried_when_no_alias_file() -> None:
    responses.get(f"{BASE}/aliases/doi/10.1000/abc", status=404)
    responses.get(f"{BASE}/find?doi=10.1000%2Fabc", json={"pith_number": f"pith:2020:{PID}"})
    found = mirror(lookup_pattern="{base}/find?{kind}={value}").lookup("doi", "10.1000/abc")
    assert found == [f"pith:2020:{PID}"]


def test_alias_paths_cannot_escape() -> None:
    assert alias_path("doi", "10.1000/ABC") == "aliases/doi/10.1000/abc"
    with pytest.raises(UsageError):
        alias_path("doi", "10.1000/../../etc/passwd")
    with pytest.raises(UsageError):
        alias_path("secret", "x")


def test_fetch_refuses_ids_that_are_not_pith_ids() -> None:
    with pytest.raises(FetchError):
        mirror().fetch("../../etc", "bundle")


def test_pith_numbers_in_text() -> None:
    assert pith_numbers_in(f'{{"a": "pith:2018:{PID}", "b": "pith:2018:{PID}"}}') == [
        f"pith:2018:{PID}"]


def test_retry_policy_covers_the_right_statuses_and_caps_retry_after() -> None:
    session = make_session(retries=4)
    retry = session.get_adapter(BASE).max_retries
    assert retry.total == 4
    assert set(retry.status_forcelist) == {429, 500, 502, 503, 504}
    assert retry.allowed_methods == frozenset({"GET"})
    assert retry.respect_retry_after_header
    assert retry.backoff_factor > 0 and retry.backoff_jitter > 0
    slow = HTTPResponse(body=b"", headers={"Retry-After": "3600"}, status=429)
    assert retry.get_retry_after(slow) == RETRY_AFTER_CAP
    fine = HTTPResponse(body=b"", headers={"Retry-After": "1"}, status=429)
    assert retry.get_retry_after(fine) == 1
    # the capped policy survives urllib3's per-attempt copies
    assert retry.increment(method="GET", url="/", response=slow).get_retry_after(slow) == \
        RETRY_AFTER_CAP


def test_make_mirror_accepts_urls_and_directories(tmp_path) -> None:
    assert make_mirror(str(tmp_path), make_session, HostLimits()).is_local
    remote = make_mirror("https://pith.science", make_session, HostLimits())
    assert not remote.is_local and remote.lookup_pattern  # the documented guess
    with pytest.raises(UsageError):
        make_mirror("ftp://x", make_session, HostLimits())
    with pytest.raises(UsageError):
        make_mirror(str(tmp_path / "missing"), make_session, HostLimits())


@responses.activate
def test_an_unreachable_host_is_skipped_for_the_rest_of_the_run() -> None:
    import requests

    responses.get(URL, body=requests.exceptions.ConnectionError("connection refused"))
    other = f"{BASE}/pith/AH5S4WE2T4KISLKPOBTLFWQMX3/bundle.json"
    responses.get(other, body=b"{}", content_type="application/json")
    host = mirror()
    with pytest.raises(FetchError, match="connection failed"):
        host.fetch(PID, "bundle")
    with pytest.raises(FetchError, match="could not be reached earlier in this run"):
        host.fetch("AH5S4WE2T4KISLKPOBTLFWQMX3", "bundle")
    assert [call.request.url for call in responses.calls] == [URL]
