"""`slotbook-server token create | list | revoke`: manage tokens straight in the database."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Mapping
from typing import get_args

from backend.gate.tokens import TokenRequestError, issue
from backend.rules.booking import Rules
from backend.runtime.addresses import AddressError, checked_address
from backend.store.base import Role, Store, TokenNotFound
from backend.store.mail_records import UNCHANGED
from backend.store.opening import open_store
from shared.timefmt import format_time

ROLES = get_args(Role)


def add_token_arguments(parser: argparse.ArgumentParser, environ: Mapping[str, str]) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    db_default = environ.get("SLOTBOOK_DB", "slotbook.db")

    def with_db(sub: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sub.add_argument(
            "--db",
            default=db_default,
            help="SQLite database file, or postgresql://user:password@host/name"
            " (env SLOTBOOK_DB; default %(default)s)",
        )
        return sub

    create = with_db(
        actions.add_parser(
            "create",
            help="make a token and print it (last line of the output)",
            description="Make a token. It is printed once, alone on the last line; only its"
            " hash is stored.",
        )
    )
    create.add_argument("--role", required=True, choices=ROLES, help="what the token may do")
    create.add_argument(
        "--subject", help="the providerId or clientId it acts as (not for an admin)"
    )
    create.add_argument(
        "--name",
        required=True,
        help="who it is for, as people should see it; a provider's or client's first token also"
        " gives it this display name, a later one only labels itself (see --rename)",
    )
    create.add_argument(
        "--rename",
        action="store_true",
        help="make --name the provider's or client's display name even if an earlier token"
        " named it (not for an admin)",
    )
    create.add_argument(
        "--email",
        help="the provider's or client's e-mail address, for confirmations, changes,"
        " cancellations and reminders (not for an admin; they may change it with PATCH /me)",
    )
    with_db(actions.add_parser("list", help="list tokens (never their secrets)"))
    revoke = with_db(actions.add_parser("revoke", help="revoke a token by its id"))
    revoke.add_argument("token_id", metavar="ID", help="the token's id, as `list` shows it")


async def _run(args: argparse.Namespace) -> int:
    # The server's own store, SQLite file or PostgreSQL URL alike: tokens are made exactly as
    # the server reads them, after the same migrations.
    store = await open_store(args.db, Rules(), read_threads=1)
    try:
        if args.action == "create":
            return await _create(store, args)
        if args.action == "list":
            return await _list(store)
        return await _revoke(store, args.token_id)
    finally:
        await store.close()


async def _create(store: Store, args: argparse.Namespace) -> int:
    try:
        new, record = issue(args.role, args.subject, args.name, time.time(), rename=args.rename)
        email = None if args.email is None else _email(args.email, record.subject)
    except (TokenRequestError, AddressError) as error:
        print(f"slotbook-server token create: {error}", file=sys.stderr)
        return 2
    await store.create_token(record, new.secret_hash, rename=args.rename)
    who = f" for {record.subject}" if record.subject else ""
    if email is not None and record.subject is not None:
        await store.set_party_details(
            record.role, record.subject, email=email, time_zone=UNCHANGED, now=record.created_at
        )
        who += f", whose mail goes to {email}"
    print(f"Created {record.role} token {record.token_id} ({record.name}){who}.")
    print("Keep it secret: it is shown only this once.")
    print(new.token)
    return 0


async def _list(store: Store) -> int:
    records = await store.list_tokens()
    if not records:
        print("No tokens yet: make one with `slotbook-server token create`.")
        return 0
    print(f"{'ID':16}  {'ROLE':8}  {'SUBJECT':24}  {'NAME':24}  {'CREATED':19}  REVOKED")
    for r in records:
        revoked = format_time(r.revoked_at) if r.revoked_at is not None else "-"
        print(
            f"{r.token_id:16}  {r.role:8}  {r.subject or '-':24}  {r.name:24}"
            f"  {format_time(r.created_at):19}  {revoked}"
        )
    return 0


async def _revoke(store: Store, token_id: str) -> int:
    try:
        record = (await store.revoke_token(token_id, time.time())).token
    except TokenNotFound:
        print(f"slotbook-server token revoke: no token has id {token_id}", file=sys.stderr)
        return 1
    print(f"Revoked token {record.token_id} ({record.name}).")
    return 0


def _email(text: str, subject: str | None) -> str:
    if subject is None:
        raise AddressError("--email is for a provider's or client's token, not an admin's")
    return checked_address(text)


def run_token_command(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))
