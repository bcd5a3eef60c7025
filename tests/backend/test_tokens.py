"""Tokens: the `token create | list | revoke` command, POST /tokens, and how they are stored.

The command runs on a real database (a SQLite file, or PostgreSQL): as a real process, the way an
operator runs it, where that is the point (what the process prints; tokens it makes and revokes
while a server process runs on the same database), and otherwise inside the test process
(tests/in_process.py), which runs the same code for a fraction of the cost. The server runs either
as a real process on the same database, or in-process (its clock is the fake one).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from backend.gate.tokens import split_token
from backend.rules.booking import Rules
from backend.store.opening import open_store
from tests.e2e.server_process import ServerProcess
from tests.helpers import People, assert_problem, dump_database, is_postgresql, query
from tests.in_process import Ran, slotbook_server
from tests.postgres_server import run_sync

ROOT = Path(__file__).resolve().parents[2]
Run = Callable[..., Ran]


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "backend", "token", *args]


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLOTBOOK_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def token_process(*args: str) -> Ran:
    """`slotbook-server token ARGS` as a real process."""
    done = subprocess.run(
        command(*args),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
        env=environment(),
    )
    return Ran(done.returncode, done.stdout, done.stderr)


def token_command(*args: str) -> Ran:
    """`slotbook-server token ARGS`, run in this process."""
    return slotbook_server("token", *args)


async def token_command_async(*args: str) -> Ran:
    """The same, without blocking the event loop an in-process server runs on."""
    return await asyncio.to_thread(token_command, *args)


def create(
    db: str, role: str, name: str, subject: str | None = None, *, run: Run = token_command
) -> str:
    """`token create`, which must succeed; the token it printed."""
    ran = run("create", "--role", role, "--name", name, "--db", db, *subject_flag(subject))
    assert ran.returncode == 0, ran.stderr
    return ran.token


async def create_async(db: str, role: str, name: str, subject: str | None = None) -> str:
    return await asyncio.to_thread(create, db, role, name, subject)


def subject_flag(subject: str | None) -> tuple[str, ...]:
    return () if subject is None else ("--subject", subject)


def parts(token: str) -> tuple[str, str]:
    split = split_token(token)
    assert split is not None, token
    return split


TOKEN_COLUMNS = ("id", "secret_hash", "role", "subject", "name", "created_at", "revoked_at")


def stored_tokens(db: str) -> dict[str, dict[str, Any]]:
    rows = query(db, f"SELECT {', '.join(TOKEN_COLUMNS)} FROM tokens")
    return {row[0]: dict(zip(TOKEN_COLUMNS, row, strict=True)) for row in rows}


def holds_no_token(db: str) -> bool:
    """A refused `create` stored nothing (on SQLite it may not even have made the file)."""
    if not is_postgresql(db) and not Path(db).exists():
        return True
    return stored_tokens(db) == {}


def listed_row(listing: str, token_id: str) -> str:
    rows = [line for line in listing.splitlines() if line.startswith(token_id)]
    assert len(rows) == 1, listing
    return rows[0]


# --- the command -------------------------------------------------------------------------------


def test_create_prints_the_new_token_alone_on_its_last_line(db: str) -> None:
    """As a real process: what an operator sees, and what the process leaves stored."""
    ran = token_process(
        "create", "--role", "provider", "--subject", "dr-ada", "--name", "Dr Ada", "--db", db
    )
    assert ran.returncode == 0, ran.stderr
    token_id, secret = parts(ran.token)
    assert token_id in ran.stdout.splitlines()[0]
    assert "shown only this once" in ran.stdout
    stored = stored_tokens(db)[token_id]
    assert (stored["role"], stored["subject"], stored["name"]) == ("provider", "dr-ada", "Dr Ada")
    assert stored["revoked_at"] is None
    assert stored["secret_hash"] == hashlib.sha256(secret.encode()).hexdigest()


def test_create_makes_an_admin_token_without_a_subject(db: str) -> None:
    ran = token_command("create", "--role", "admin", "--name", "root", "--db", db)
    assert ran.returncode == 0, ran.stderr
    token_id, _ = parts(ran.token)
    stored = stored_tokens(db)[token_id]
    assert (stored["role"], stored["subject"], stored["name"]) == ("admin", None, "root")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--role", "admin", "--subject", "x", "--name", "n"], "leave subject out"),
        (["--role", "client", "--name", "n"], "needs a subject"),
        (["--role", "provider", "--name", "n"], "needs a subject"),
    ],
    ids=["admin-with-subject", "client-without-subject", "provider-without-subject"],
)
def test_create_refuses_a_subject_that_does_not_fit_the_role(
    db: str, args: list[str], says: str
) -> None:
    ran = token_command("create", *args, "--db", db)
    assert ran.returncode == 2
    assert ran.stdout == ""
    lines = ran.stderr.strip().splitlines()
    assert len(lines) == 1, ran.stderr
    assert says in lines[0]
    assert holds_no_token(db)


def test_create_refuses_rename_for_an_admin_token(db: str) -> None:
    ran = token_command("create", "--role", "admin", "--name", "root", "--rename", "--db", db)
    assert ran.returncode == 2
    assert ran.stdout == ""
    lines = ran.stderr.strip().splitlines()
    assert len(lines) == 1, ran.stderr
    assert "leave rename out" in lines[0]
    assert holds_no_token(db)


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--role", "client", "--subject", "c1", "--name", ""], "name"),
        (["--role", "client", "--subject", "c1", "--name", "x" * 101], "name"),
        (["--role", "client", "--subject", "c1", "--name", "two\nlines"], "name"),
        (["--role", "provider", "--subject", " dr ", "--name", "Padded"], "subject"),
        (["--role", "client", "--subject", "c" * 129, "--name", "Long"], "subject"),
    ],
    ids=["empty-name", "long-name", "name-with-newline", "padded-subject", "long-subject"],
)
def test_create_refuses_what_post_tokens_refuses(db: str, args: list[str], field: str) -> None:
    """The command writes straight to the database, so it must hold names and subjects to the
    rules the API does: a provider whose id has spaces around it could never name itself in a
    path or a body, and a name with a line break would break `list`."""
    ran = token_command("create", *args, "--db", db)
    assert ran.returncode == 2, ran.stdout
    assert field in ran.stderr
    assert holds_no_token(db)


async def test_create_with_email_gives_the_subject_an_address_and_refuses_a_bad_one(
    db: str,
) -> None:
    made = await token_command_async(
        "create", "--role", "client", "--name", "Cy", "--subject", "c-8",
        "--email", "Cy@Example.COM", "--db", db,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert "mail goes to Cy@example.com" in made.stdout
    refused = await token_command_async(
        "create", "--role", "client", "--name", "Di", "--subject", "c-9",
        "--email", "di@example.com\r\nBcc: x@example.org", "--db", db,
    )  # fmt: skip
    assert refused.returncode == 2
    assert "not an e-mail address" in refused.stderr
    store = await open_store(db, Rules(), read_threads=1)
    try:
        cy = await store.party_details("client", "c-8")
        assert cy is not None
        assert cy.email == "Cy@example.com"
        assert await store.party_details("client", "c-9") is None  # nothing was made
    finally:
        await store.close()


def test_create_refuses_an_unknown_role(tmp_path: Path) -> None:
    ran = token_command("create", "--role", "root", "--name", "n", "--db", str(tmp_path / "t.db"))
    assert ran.returncode == 2
    assert "invalid choice" in ran.stderr
    assert "admin" in ran.stderr
    assert "provider" in ran.stderr
    assert "client" in ran.stderr


def test_list_shows_each_token_but_never_its_secret(db: str) -> None:
    empty = token_command("list", "--db", db)
    assert empty.returncode == 0, empty.stderr
    assert "No tokens yet" in empty.stdout
    made = {
        "provider": create(db, "provider", "Dr Ada", "dr-ada"),
        "client": create(db, "client", "Bo Client", "c-42"),
        "admin": create(db, "admin", "root"),
    }
    listing = token_command("list", "--db", db)
    assert listing.returncode == 0, listing.stderr
    header = listing.stdout.splitlines()[0].split()
    assert header[:4] == ["ID", "ROLE", "SUBJECT", "NAME"]
    expected = {
        "provider": ["provider", "dr-ada", "Dr", "Ada"],
        "client": ["client", "c-42", "Bo", "Client"],
        "admin": ["admin", "-", "root"],
    }
    for role, token in made.items():
        token_id, secret = parts(token)
        shown = listed_row(listing.stdout, token_id).split()
        assert shown[1 : 1 + len(expected[role])] == expected[role]
        assert shown[-1] == "-"  # not revoked
        assert secret not in listing.stdout
        assert token not in listing.stdout
        assert stored_tokens(db)[token_id]["secret_hash"] not in listing.stdout


def test_revoke_marks_the_token_revoked_and_an_unknown_id_is_an_error(db: str) -> None:
    kept = parts(create(db, "admin", "a"))
    gone = parts(create(db, "admin", "b"))
    revoked = token_command("revoke", gone[0], "--db", db)
    assert revoked.returncode == 0, revoked.stderr
    assert gone[0] in revoked.stdout
    listing = token_command("list", "--db", db).stdout
    assert listed_row(listing, gone[0]).split()[-1] != "-"
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$", listed_row(listing, gone[0]))
    assert listed_row(listing, kept[0]).split()[-1] == "-"
    assert stored_tokens(db)[gone[0]]["revoked_at"] is not None

    unknown = token_command("revoke", "0123456789abcdef", "--db", db)
    assert unknown.returncode == 1
    assert unknown.stdout == ""
    lines = unknown.stderr.strip().splitlines()
    assert len(lines) == 1, unknown.stderr
    assert "no token has id 0123456789abcdef" in lines[0]
    assert stored_tokens(db)[kept[0]]["revoked_at"] is None


def test_help_describes_the_actions() -> None:
    ran = token_command("--help")
    assert ran.returncode == 0, ran.stderr
    for action in ("create", "list", "revoke"):
        assert action in ran.stdout
    assert "Bearer" in ran.stdout
    create = token_command("create", "--help")
    assert create.returncode == 0, create.stderr
    for flag in ("--role", "--subject", "--name", "--rename", "--db"):
        assert flag in create.stdout
    assert "display name" in " ".join(create.stdout.split())


# --- the command and a running server ------------------------------------------------------------


def test_a_token_made_by_the_command_works_against_a_server_process(db: str) -> None:
    """Real processes throughout: the command's and the server's, on the same database."""
    provider = create(db, "provider", "Dr Ada", "dr-ada", run=token_process)
    client = create(db, "client", "Cy", "c-7", run=token_process)
    with ServerProcess(db) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        me = http.get("/me", headers={"Authorization": f"Bearer {provider}"})
        assert me.status_code == 200, me.text
        assert me.json() == {
            "role": "provider",
            "subject": "dr-ada",
            "name": "Dr Ada",
            "tokenId": parts(provider)[0],
            "auth": "token",
            "email": None,
            "timeZone": None,
        }
        providers = http.get("/providers", headers={"Authorization": f"Bearer {provider}"})
        ada = {"providerId": "dr-ada", "name": "Dr Ada", "nextAvailable": None}
        assert ada in providers.json()["providers"]

        # Made while the server runs: it works at once.
        later = create(db, "admin", "late", run=token_process)
        assert http.get("/tokens", headers={"Authorization": f"Bearer {later}"}).status_code == 200

        # Revoked by the command while the server runs: a token the server has not looked up
        # (so has not cached) is refused at once.
        assert token_process("revoke", parts(client)[0], "--db", db).returncode == 0
        refused = http.get("/me", headers={"Authorization": f"Bearer {client}"})
        problem = assert_problem(refused, 401, "unauthorized")
        assert "revoked" in problem["detail"]
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")


async def test_a_revoke_through_the_api_refuses_the_very_next_request(people: People) -> None:
    made = await people["admin"].post(
        "/tokens", json={"role": "client", "subject": "c5", "name": "Five"}
    )
    assert made.status_code == 201, made.text
    token, token_id = made.json()["token"], made.json()["tokenId"]
    async with httpx.AsyncClient(
        base_url=people["admin"].base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as five:
        assert (await five.get("/me")).status_code == 200  # looked up, so now cached
        revoked = await people["admin"].delete(f"/tokens/{token_id}")
        assert revoked.status_code == 200, revoked.text
        assert revoked.json()["token"]["revokedAt"] is not None
        refused = await five.get("/me")
        problem = assert_problem(refused, 401, "unauthorized")
        assert "revoked" in problem["detail"]
        assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
        assert (await five.get("/reservations")).status_code == 401


# --- how tokens are stored -----------------------------------------------------------------------


def raw_database_bytes(db: str) -> bytes:
    """Everything stored, as anyone who can read the database could read it: for SQLite the file
    and its write-ahead log, byte for byte; for PostgreSQL every value of every table (bytes as
    they are, so that nothing hides in an encoding)."""
    if is_postgresql(db):
        return run_sync(lambda: every_value_in(db))
    found = Path(db).read_bytes()
    wal = Path(f"{db}-wal")
    if wal.exists():
        found += wal.read_bytes()
    return found


async def every_value_in(url: str) -> bytes:
    conn = await asyncpg.connect(url)
    try:
        tables = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        found = bytearray()
        for (table,) in tables:
            for row in await conn.fetch(f'SELECT * FROM "{table}"'):
                for value in row.values():
                    found += value if isinstance(value, bytes) else str(value).encode()
                    found += b"\n"
        return bytes(found)
    finally:
        await conn.close()


async def test_the_database_never_holds_a_token_in_plain_text(people: People, db: str) -> None:
    admin = people["admin"]
    by_command = [
        await create_async(db, "provider", "Dr Cli", "dr-cli"),
        await create_async(db, "admin", "root-cli"),
    ]
    plain = await admin.post("/tokens", json={"role": "client", "subject": "c8", "name": "Eight"})
    assert plain.status_code == 201, plain.text

    keyed_body = {"role": "provider", "subject": "dr-key", "name": "Dr Key"}
    key = {"Idempotency-Key": "make-dr-key-1"}
    keyed = await admin.post("/tokens", json=keyed_body, headers=key)
    assert keyed.status_code == 201, keyed.text
    replay = await admin.post("/tokens", json=keyed_body, headers=key)
    assert replay.status_code == 201, replay.text
    again = replay.json()
    assert again["token"] is None
    assert again["tokenId"] == keyed.json()["tokenId"]
    assert "shown only" in again["message"]
    assert replay.headers.get("Idempotent-Replayed") == "true"
    listed = (await admin.get("/tokens")).json()["tokens"]
    assert [t["name"] for t in listed].count("Dr Key") == 1

    tokens = [
        *people.tokens.values(),
        *by_command,
        plain.json()["token"],
        keyed.json()["token"],
    ]
    raw = raw_database_bytes(db)
    stored = stored_tokens(db)
    assert len(stored) == len(tokens)
    for token in tokens:
        token_id, secret = parts(token)
        assert token.encode() not in raw
        assert secret.encode() not in raw
        assert stored[token_id]["secret_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    # The scan reads what is stored: the hashes themselves are there to be found.
    assert all(row["secret_hash"].encode() in raw for row in stored.values())


# --- POST /tokens --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_body", "status", "slug", "field"),
    [
        ({"role": "root", "name": "x"}, 400, "invalid-request", "role"),
        ({"role": "provider", "name": "x"}, 422, "rule-violation", "subject"),
        ({"role": "client", "name": "x"}, 422, "rule-violation", "subject"),
        ({"role": "admin", "subject": "x", "name": "x"}, 422, "rule-violation", "subject"),
        ({"role": "client", "subject": "c9", "name": ""}, 400, "invalid-request", "name"),
        ({"role": "client", "subject": "c9"}, 400, "invalid-request", "name"),
    ],
    ids=[
        "unknown-role",
        "provider-without-subject",
        "client-without-subject",
        "admin-with-subject",
        "empty-name",
        "no-name",
    ],
)
async def test_post_tokens_refuses_what_cannot_be_made(
    people: People,
    db: str,
    request_body: dict[str, str],
    status: int,
    slug: str,
    field: str,
) -> None:
    before = dump_database(db)
    response = await people["admin"].post("/tokens", json=request_body)
    problem = assert_problem(response, status, slug)
    assert field in {e["field"] for e in problem["errors"]}, problem
    assert dump_database(db) == before


async def test_providers_are_listed_by_the_name_on_their_token_before_they_have_slots(
    people: People, db: str
) -> None:
    made = await people["admin"].post(
        "/tokens", json={"role": "provider", "subject": "dr-ada", "name": "Dr Ada"}
    )
    assert made.status_code == 201, made.text
    await create_async(db, "provider", "Dr Bo", "dr-bo")
    listed = await people["c1"].get("/providers")
    assert listed.status_code == 200, listed.text
    assert listed.json()["providers"] == [
        {"providerId": "dr-ada", "name": "Dr Ada", "nextAvailable": None},
        {"providerId": "dr-bo", "name": "Dr Bo", "nextAvailable": None},
        {"providerId": "p1", "name": "Dr One", "nextAvailable": None},
        {"providerId": "p2", "name": "Dr Two", "nextAvailable": None},
    ]


async def test_only_create_with_rename_renames_a_provider_or_a_client(
    people: People, db: str
) -> None:
    """A later token only labels itself; with --rename its name becomes the display name, which
    GET /providers and the provider's calendar then show."""
    day = "2030-03-06"
    made = await people["p1"].post(
        "/availability", json={"startTime": f"{day} 11:00:00", "endTime": f"{day} 11:15:00"}
    )
    [slot] = made.json()["timeSlots"]
    held = await people["c1"].post(
        "/availability/reserve",
        json={"timeSlot": slot["timestamp"], "timeSlotId": slot["timeSlotId"]},
    )
    assert held.status_code == 201, held.text

    async def names() -> tuple[str, str]:
        listed = (await people["c2"].get("/providers")).json()["providers"]
        provider = {p["providerId"]: p["name"] for p in listed}["p1"]
        calendar = await people["p1"].get(
            "/providers/p1/slots",
            params={"startTime": f"{day} 11:00:00", "endTime": f"{day} 12:00:00"},
        )
        return provider, calendar.json()["timeSlots"][0]["clientName"]

    await create_async(db, "provider", "Dr Impostor", "p1")
    await create_async(db, "client", "Someone Else", "c1")
    assert await names() == ("Dr One", "Client One")

    for role, name, subject in [("provider", "Dr Uno", "p1"), ("client", "Grace Hopper", "c1")]:
        ran = await token_command_async(
            "create", "--role", role, "--subject", subject, "--name", name, "--rename", "--db", db
        )
        assert ran.returncode == 0, ran.stderr
    assert await names() == ("Dr Uno", "Grace Hopper")
    listed = {
        (t["subject"], t["name"]) for t in (await people["admin"].get("/tokens")).json()["tokens"]
    }
    assert {("p1", "Dr Impostor"), ("c1", "Someone Else"), ("p1", "Dr Uno")} <= listed
