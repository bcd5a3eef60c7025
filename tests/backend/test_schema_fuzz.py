"""Schemathesis against a real server: every operation of the served /openapi.json, every check.
(The server runs untraced by coverage: what it runs, the in-process tests measure.)

A `python -m backend serve` child process runs with the rate limit off, over a temporary SQLite
file and then over a PostgreSQL database (the module runs once for each store); an admin token
made with `token create` is the credential. Schemathesis generates requests from the spec (its
examples, coverage and fuzzing phases; valid and invalid data) and runs all of its checks on every
answer: no server errors, statuses, content types, headers and bodies as the spec declares them,
invalid data refused, valid data accepted, auth enforced. The number of examples is bounded and
the run derandomized so CI stays fast and reproducible.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test
from schemathesis import Case
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.stateful.state_machine import APIStateMachine
from schemathesis.schemas import BaseSchema

from tests.e2e.server_process import ServerProcess
from tests.helpers import STORES
from tests.postgres_server import PostgresForTests

MAX_EXAMPLES = 10
"""Fuzzing examples per operation (the examples and coverage phases add their own few)."""
SEED = 20300304
REQUEST_TIMEOUT = 5.0
"""Seconds: no answer may take longer."""
STREAM_READ_SECONDS = 1.0
"""Seconds an /events stream is read before the check looks at what came."""
WORKFLOWS = 20
"""Stateful scenarios: chains of calls that feed one answer's ids into the next request."""
WORKFLOW_STEPS = 8
LONG_POLL_CAP = 0.2
"""Seconds: a generated valid `wait` of GET /changes is shortened to this."""

ACCEPTED_ANSWERS_TO_VALID_DATA = ["2xx", "3xx", "403", "404", "409", "410", "422", "429"]
"""Schemathesis's default for positive_data_acceptance, less 5xx (which fails anyway) and 401 (the
token is valid throughout), plus 410 and 422: see `api_schema`."""


def make_token(db: str, *role: str) -> str:
    """A token made with `token create`, printed alone on its last line."""
    done = subprocess.run(
        [sys.executable, "-m", "backend", "token", "create", "--db", db, *role],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


def token_id(token: str) -> str:
    """The id GET /tokens lists a token by: `sbk_<id>_<secret>`."""
    return token.split("_")[1]


@dataclass(frozen=True)
class Target:
    url: str
    token: str
    """The admin token every request carries."""
    decoy_id: str
    """The id of a spare token, revoked instead whenever a request would revoke `token`."""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture(scope="module", params=STORES)
def fuzzed_db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The server's database: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        yield str(tmp_path_factory.mktemp("fuzz") / "slotbook.db")
        return
    postgres: PostgresForTests = request.getfixturevalue("postgres")
    url = postgres.copy()
    yield url
    postgres.drop(url)


@pytest.fixture(scope="module")
def target(fuzzed_db: str) -> Iterator[Target]:
    """A real server with the rate limit off, an admin token, and a decoy token."""
    db = fuzzed_db
    token = make_token(db, "--role", "admin", "--name", "Schemathesis")
    decoy = make_token(db, "--role", "client", "--subject", "decoy", "--name", "Decoy")
    with ServerProcess(db, "--rate", "0", traced=False) as server:
        target = Target(server.url, token, token_id(decoy))
        yield target
        me = httpx.get(f"{target.url}/me", headers=target.headers, timeout=REQUEST_TIMEOUT)
    assert me.status_code == 200, "the fuzzing token must last the whole run (else: 401s only)"
    assert not [line for line in server.log if "Traceback" in line], "".join(server.log)


def spare_own_token(case: Case[Any], target: Target) -> None:
    """Schemathesis reuses ids from earlier answers, so DELETE /tokens/{tokenId} may be sent the
    id of the very token it runs with (GET /tokens lists it): revoking that would turn every later
    request into a 401. Such a request revokes the decoy instead: the same call on a real token."""
    ids = case.path_parameters if case.path == "/tokens/{tokenId}" else None
    if ids is not None and ids.get("tokenId") == token_id(target.token):
        ids["tokenId"] = target.decoy_id


@pytest.fixture(scope="module")
def api_schema(target: Target) -> BaseSchema:
    config = SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "request-timeout": REQUEST_TIMEOUT,
            "auth": {"openapi": {"bearer": {"bearer": target.token}}},
            "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True},
            "checks": {
                # Valid data must not get a 400: the spec's schemas are exactly what the server
                # parses. The check's own list of acceptable refusals lacks the two the spec
                # declares for requests that fit every schema and still cannot be done, which JSON
                # Schema cannot express: 422 (a booking rule, e.g. endTime not after startTime or
                # a window in the past; or an admin token that names no clientId) and 410 (a
                # change feed resumed after changes the log no longer holds).
                "positive_data_acceptance": {"expected-statuses": ACCEPTED_ANSWERS_TO_VALID_DATA}
            },
            "operations": [
                # An /events stream that has nothing to send stays open: read it for a second.
                {"include-path": "/events", "request-timeout": STREAM_READ_SECONDS}
            ],
        }
    )
    return schemathesis.openapi.from_url(f"{target.url}/openapi.json", config=config)


# Every operation: schemathesis leaves out the route that served it the document (GET
# /openapi.json) unless a filter names it, and this one names every path.
schema = schemathesis.pytest.from_fixture("api_schema").include(path_regex="^/")


FRAMING_HEADERS = frozenset({"transfer-encoding", "content-length"})
"""How a body is delimited on the wire, which the HTTP client sets from the body it sends. A
generated value makes the request unreadable as HTTP before it reaches the API (aiohttp's parser
refuses a Content-Length beside a Transfer-Encoding, a request-smuggling defence, with a plain-text
400 of its own), so the answer would test the parser rather than the API."""


def leave_framing_to_the_client(case: Case[Any]) -> None:
    """Drop generated framing headers (negative cases add headers of any name, these too)."""
    for name in FRAMING_HEADERS:  # the headers ignore case
        case.headers.pop(name, None)


def shorten_long_poll(case: Case[Any]) -> None:
    """GET /changes may wait up to 30 s for a change; a valid `wait` is cut to LONG_POLL_CAP so
    the run stays fast. An invalid one is left alone: it must still be refused."""
    query = case.query or {}
    try:
        wait = float(query["wait"])
    except (KeyError, TypeError, ValueError):
        return
    if 0 < wait <= 30:
        query["wait"] = LONG_POLL_CAP


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_every_operation_passes_every_check(case: Case[Any], target: Target) -> None:
    spare_own_token(case, target)
    leave_framing_to_the_client(case)
    if case.path == "/changes":
        shorten_long_poll(case)
    case.call_and_validate(headers=target.headers)


def test_workflows_pass_every_check(api_schema: BaseSchema, target: Target) -> None:
    """The stateful phase, as `schemathesis run` has it: chains of calls linked by the ids their
    answers carry (inferred from the schemas: a token listed, then revoked; a slot listed or made,
    then reserved, confirmed or cancelled), every check on each step, including those that need a
    history (use_after_free, ensure_resource_availability). Random times seldom make a valid
    window, so most slot chains end in a 422; the token chains run through. No link leads to
    /changes or /events."""

    def before_call(machine: APIStateMachine, case: Case[Any]) -> None:
        spare_own_token(case, target)
        leave_framing_to_the_client(case)

    def get_call_kwargs(machine: APIStateMachine, case: Case[Any]) -> dict[str, Any]:
        return {"headers": target.headers}

    workflow = type(
        "Workflow",
        (api_schema.as_state_machine(),),
        {"before_call": before_call, "get_call_kwargs": get_call_kwargs},
    )
    run_state_machine_as_test(
        cast("type[APIStateMachine]", workflow),
        settings=settings(
            max_examples=WORKFLOWS,
            stateful_step_count=WORKFLOW_STEPS,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            database=None,
        ),
    )
