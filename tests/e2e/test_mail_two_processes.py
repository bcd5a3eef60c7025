"""Two server processes over one PostgreSQL database, both sending mail to one relay: every
message is sent once, whichever process took the write that queued it, and whichever sender
leased it. Real processes, a real SMTP server on loopback, the wall clock."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from contextlib import ExitStack

import httpx

from shared.timefmt import format_time
from tests.e2e.server_process import ServerProcess
from tests.e2e.test_two_processes import HOUR, admin_token, first_day
from tests.postgres_server import PostgresForTests
from tests.smtp_server import MailServer

CLIENTS = 6


def token(db: str, role: str, subject: str, email: str) -> str:
    made = subprocess.run(
        [sys.executable, "-m", "backend", "token", "create", "--db", db, "--role", role,
         "--subject", subject, "--name", subject.title(), "--email", email],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert f"mail goes to {email}" in made.stdout
    return made.stdout.strip().splitlines()[-1]


async def test_two_processes_send_each_message_once(
    postgres: PostgresForTests, smtp: MailServer
) -> None:
    db = postgres.copy()
    try:
        admin = admin_token(db)
        doctor = smtp.address("doctor")
        provider = token(db, "provider", "p1", doctor)
        clients = {f"c{n}": smtp.address(f"c{n}") for n in range(CLIENTS)}
        tokens = {who: token(db, "client", who, email) for who, email in clients.items()}
        flags = ("--rate", "0", "--smtp-url", smtp.url, "--mail-from", "desk@example.com")
        with ExitStack() as both:
            servers = [both.enter_context(ServerProcess(db, *flags)) for _ in range(2)]
            async with (
                httpx.AsyncClient(base_url=servers[0].url, timeout=30) as a,
                httpx.AsyncClient(base_url=servers[1].url, timeout=30) as b,
            ):
                start = first_day() + 9 * HOUR
                opened = await a.post(
                    "/availability",
                    json={
                        "startTime": format_time(start),
                        "endTime": format_time(start + HOUR + HOUR // 2),
                    },
                    headers={"Authorization": f"Bearer {provider}"},
                )
                assert opened.status_code == 201, opened.text
                slots = opened.json()["timeSlots"]

                async def book(n: int, who: str) -> None:
                    http = (a, b)[n % 2]
                    auth = {"Authorization": f"Bearer {tokens[who]}"}
                    slot = slots[n]
                    held = await http.post(
                        "/availability/reserve",
                        json={"timeSlotId": slot["timeSlotId"], "timeSlot": slot["timestamp"]},
                        headers=auth,
                    )
                    assert held.status_code == 201, held.text
                    done = await (b, a)[n % 2].put(
                        f"/availability/confirm/{slot['timeSlotId']}",
                        json={"timeSlot": slot["timestamp"]},
                        headers=auth,
                    )
                    assert done.status_code == 200, done.text

                await asyncio.gather(*(book(n, who) for n, who in enumerate(clients)))
                await asyncio.to_thread(smtp.wait_for, doctor, CLIENTS, 30)
                for email in clients.values():
                    await asyncio.to_thread(smtp.wait_for, email, 1, 30)
                everyone = {"Authorization": f"Bearer {admin}"}
                for _ in range(100):  # until both senders have written down what they sent
                    listed = (await a.get("/notifications", headers=everyone)).json()
                    states = [
                        n["status"] for n in listed["notifications"] if n["kind"] != "reminder"
                    ]
                    if states.count("sent") == 2 * CLIENTS:
                        break
                    await asyncio.sleep(0.1)
                assert states.count("sent") == 2 * CLIENTS
                assert all(
                    n["attempts"] == 1 for n in listed["notifications"] if n["status"] == "sent"
                )
        to_doctor = smtp.received(doctor)
        assert len(to_doctor) == CLIENTS
        assert len({d.message()["Message-ID"] for d in to_doctor}) == CLIENTS
        assert all(len(smtp.received(email)) == 1 for email in clients.values())
    finally:
        postgres.drop(db)
