"""`slotbook-server` (`python -m backend`): its commands and their flags."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from backend.cli.maintenance_command import (
    add_backup_arguments,
    add_check_arguments,
    run_maintenance_command,
)
from backend.cli.secret_key_command import run_secret_key_command
from backend.cli.serve import serve
from backend.cli.token_command import add_token_arguments, run_token_command
from backend.cli.workers import WORKER_OF_FLAG
from backend.runtime.settings import add_server_arguments


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="slotbook-server",
        description="The slotbook availability server: providers publish when they can see"
        " clients, clients hold and confirm 15-minute slots, over an HTTP API.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="run the HTTP server",
        description="Run the HTTP server over a SQLite database file, or over PostgreSQL"
        " (--db postgresql://...), which any number of server processes can share: --workers N"
        " on one host, or the same command on several hosts. Every flag can also be set with"
        " the environment variable named beside it.",
    )
    add_server_arguments(serve, os.environ)
    serve.add_argument(WORKER_OF_FLAG, type=int, metavar="PID", help=argparse.SUPPRESS)
    token = commands.add_parser(
        "token",
        help="make, list or revoke access tokens",
        description="Make, list or revoke the bearer tokens that callers send as"
        " 'Authorization: Bearer <token>'. Works on the database directly (a SQLite file or a"
        " PostgreSQL URL), whether or not a server is running on it.",
    )
    add_token_arguments(token, os.environ)
    backup = commands.add_parser(
        "backup",
        help="copy a SQLite database while the server keeps serving",
        description="Make a consistent copy of a SQLite database with SQLite's online backup"
        " API, while servers keep reading and writing it, and say what was copied. Restore by"
        " stopping the server and putting the copy in the database's place. A PostgreSQL"
        " database is backed up with pg_dump instead.",
    )
    add_backup_arguments(backup, os.environ)
    check = commands.add_parser(
        "check",
        help="check a SQLite database (a backup, or the live one) is sound",
        description="Run SQLite's integrity check and slotbook's own invariants on a SQLite"
        " database (no slot with two holders, the change log gap-free, every hold's expiry"
        " consistent) and say so in one line; the file is only read. Exit status: 0 sound,"
        " 1 problems found (listed under the line), 2 could not check.",
    )
    add_check_arguments(check, os.environ)
    commands.add_parser(
        "secret-key",
        help="print a new key for serve --secret-key",
        description="Print a new random key for serve --secret-key (SLOTBOOK_SECRET_KEY), alone"
        " on standard output: the key that seals the calendar passwords the server stores. Keep"
        " it safe and keep it: passwords stored with one key open with that key only.",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(arguments)
    if args.command == "serve":
        return serve(args, arguments)
    if args.command == "secret-key":
        return run_secret_key_command()
    if args.command in ("backup", "check"):
        return run_maintenance_command(args)
    return run_token_command(args)
