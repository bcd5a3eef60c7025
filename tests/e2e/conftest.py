"""The end-to-end tests run real processes (servers, the command line, the app in a terminal, the
web gateway) and are not measured by coverage, neither in this process (tests/conftest.py's
UNTRACED_IN_PROCESS) nor in the processes they start: what those processes run, the tests of
tests/backend and tests/tui run in-process (the real app over a real socket), and the processes'
own start and stop are measured where they are the subject (tests/backend/test_server_command.py,
tests/tui/test_embedded.py, tests/tui/test_web_gateway.py). Traced, the processes cost about 1.6
times as much.

These hooks apply to the tests of this folder only (pytest calls a conftest's test hooks for the
tests under it), around their fixtures' setup and their bodies."""

from __future__ import annotations

from collections.abc import Generator

import pytest

COVERAGE_OF_CHILDREN = "COVERAGE_PROCESS_CONFIG"
"""What coverage's `patch = ["subprocess"]` puts in the environment for a Python child process to
measure itself by; without it, a child runs untraced. (Coverage puts it back whenever it starts
tracing again, as pytest-cov does after each `no_cover` test: so it is taken away for each
phase.)"""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(COVERAGE_OF_CHILDREN, raising=False)
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(COVERAGE_OF_CHILDREN, raising=False)
        return (yield)
