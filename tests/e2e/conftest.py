"""Coverage in the end-to-end tests. Their own process is not traced (tests/conftest.py's
UNTRACED_IN_PROCESS). The processes they start are, but for the modules named in
CHILDREN_UNTRACED: what those modules' processes run, the backend and tui tests run in-process
(the real app over a real socket), and the processes' start and stop are measured where they are
the subject (tests/backend/test_server_command.py, tests/tui/test_embedded.py). Traced, a
process costs about 1.6 times as much.

The others stay traced because their processes run code that no in-process test runs: event
streams cut loose or ended by a revocation, JSON request logs and the metrics port, the web
gateway's command, the app in a real terminal, the original API's calls.

These hooks apply to the tests of this folder only (pytest calls a conftest's test hooks for the
tests under it), around their fixtures' setup and their bodies."""

from __future__ import annotations

from collections.abc import Generator

import pytest

CHILDREN_UNTRACED = frozenset(
    {
        "test_backups.py",
        "test_booking_page_browser.py",
        "test_busy_two_processes.py",
        "test_litestream.py",
        "test_mail_two_processes.py",
        "test_readme_walkthrough.py",
        "test_two_processes.py",
        "test_waitlist_two_processes.py",
        "test_webhooks_after_crash.py",
    }
)

COVERAGE_OF_CHILDREN = "COVERAGE_PROCESS_CONFIG"
"""What coverage's `patch = ["subprocess"]` puts in the environment for a Python child process to
measure itself by; without it, a child runs untraced. (Coverage puts it back whenever it starts
tracing again, as pytest-cov does after each `no_cover` test: so it is taken away for each
phase.)"""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    with pytest.MonkeyPatch.context() as patch:
        if item.path.name in CHILDREN_UNTRACED:
            patch.delenv(COVERAGE_OF_CHILDREN, raising=False)
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    with pytest.MonkeyPatch.context() as patch:
        if item.path.name in CHILDREN_UNTRACED:
            patch.delenv(COVERAGE_OF_CHILDREN, raising=False)
        return (yield)
