"""`python -m brainstorm.serve`: Daphne, on uvloop. Every live-server test (WebSocket, SSE, the
browser) starts the server this way; these check the loop underneath."""

import textwrap

import pytest

from brainstorm.tests.production import run_python

pytestmark = pytest.mark.sqlite  # no database: once is enough


def test_daphnes_reactor_runs_on_uvloop():
    script = textwrap.dedent(
        """
        from brainstorm.serve import use_uvloop
        use_uvloop()
        import daphne.server
        import uvloop
        from twisted.internet import reactor
        loop = daphne.server.twisted_loop
        print(type(loop).__module__, type(reactor).__name__, reactor._asyncioEventloop is loop)
        """
    )
    assert run_python(script).stdout.split() == ["uvloop", "AsyncioSelectorReactor", "True"]


def test_too_late_once_daphne_has_made_its_loop():
    script = textwrap.dedent(
        """
        import daphne.server
        from brainstorm.serve import use_uvloop
        try:
            use_uvloop()
        except RuntimeError as error:
            print(error)
        """
    )
    assert "already imported" in run_python(script).stdout


def test_it_takes_daphnes_own_arguments():
    result = run_python("from brainstorm.serve import main; main(['--help'])")
    assert "--websocket_timeout" in result.stdout


@pytest.mark.django_db(transaction=True)
def test_the_server_stops_cleanly_when_told_to(server):
    # On uvloop Twisted still hears SIGTERM (the container's stop): the process ends by itself.
    process = server["process"]
    process.terminate()
    assert process.wait(10) == 0


def test_the_application_is_ready_before_its_first_request():
    # The URL configuration (every view module) is imported at start, not by the first request,
    # and what start-up made is kept out of the collector's full passes (gc.freeze).
    script = textwrap.dedent(
        """
        import gc, sys
        assert "brainstorm.urls" not in sys.modules
        import brainstorm.asgi
        print("brainstorm.urls" in sys.modules, "market.api" in sys.modules, gc.get_freeze_count() > 50_000)
        """
    )
    assert run_python(script).stdout.split() == ["True", "True", "True"]
