import pytest
from pith_bib import mirrors
from tests import test_mirrors_hostile as t

@pytest.mark.parametrize("name", ["test_headers_dripping_one_byte_at_a_time_end_at_the_deadline", "test_status_line_never_sent_ends_at_the_deadline"])
def test_no_watchdog(monkeypatch, name):
    monkeypatch.setattr(mirrors._Watch, "fire", lambda self: None)
    with t.SlowServer() as srv:
        srv.serve(t.OTHER_PATH, t.Reply(body=b"{}"))
        getattr(t, name)(srv)
