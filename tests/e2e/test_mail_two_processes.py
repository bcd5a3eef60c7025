"""Mail from real server processes: two over one PostgreSQL database, both sending to one relay,
send every message once, whichever process took the write that queued it and whichever sender
leased it; and a server killed before it could send loses nothing. A real SMTP server on
loopback, the wall clock."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import httpx

from shared.timefmt import format_time
from tests.e2e.server_process import ServerProcess
from tests.e2e.test_two_processes import HOUR, admin_token, first_day
from tests.postgres_server import PostgresForTests
from tests.smtp_server import MailServer

CLIENTS = 4


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
        tokens: dict[str, str] = {}
        flags = ("--rate", "0", "--smtp-url", smtp.url, "--mail-from", "desk@example.com")
        with ExitStack() as both:
            servers = [both.enter_context(ServerProcess(db, *flags)) for _ in range(2)]
            async with (
                httpx.AsyncClient(base_url=servers[0].url, timeout=30) as a,
                httpx.AsyncClient(base_url=servers[1].url, timeout=30) as b,
            ):
                admin_auth = {"Authorization": f"Bearer {admin}"}
                for who, email in clients.items():  # made by the API, addressed by each
                    made = await a.post(
                        "/tokens",
                        json={"role": "client", "subject": who, "name": who.title()},
                        headers=admin_auth,
                    )
                    tokens[who] = made.json()["token"]
                    addressed = await b.patch(
                        "/me",
                        json={"email": email},
                        headers={"Authorization": f"Bearer {tokens[who]}"},
                    )
                    assert addressed.status_code == 200, addressed.text
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


async def test_a_server_killed_before_it_could_send_loses_no_message(
    tmp_path: Path, smtp: MailServer
) -> None:
    """SIGKILL while the relay is down: the message waits in the database, and the next server
    over it sends it. (Killed while a message is being sent, the message waits out its lease,
    five minutes, before another process takes it.)"""
    db = str(tmp_path / "slotbook.db")
    client_email, doctor_email = smtp.address("client"), smtp.address("doctor")
    provider = token(db, "provider", "p1", doctor_email)
    client = token(db, "client", "c1", client_email)
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        down = f"smtp://127.0.0.1:{unused.getsockname()[1]}"
    quick = ("--rate", "0", "--mail-backoff-seconds", "0.5")
    first = ServerProcess(db, *quick, "--smtp-url", down).start()
    try:
        async with httpx.AsyncClient(base_url=first.url, timeout=30) as http:
            start = first_day() + 9 * HOUR
            opened = await http.post(
                "/availability",
                json={"startTime": format_time(start), "endTime": format_time(start + HOUR)},
                headers={"Authorization": f"Bearer {provider}"},
            )
            slot = opened.json()["timeSlots"][0]
            auth = {"Authorization": f"Bearer {client}"}
            body = {"timeSlotId": slot["timeSlotId"], "timeSlot": slot["timestamp"]}
            assert (await http.post("/availability/reserve", json=body, headers=auth)).is_success
            confirmed = await http.put(
                f"/availability/confirm/{slot['timeSlotId']}",
                json={"timeSlot": slot["timestamp"]},
                headers=auth,
            )
            assert confirmed.status_code == 200, confirmed.text
            for _ in range(100):  # until the first attempt has failed and been written down
                mine = (await http.get("/notifications", headers=auth)).json()["notifications"]
                (confirmation,) = [n for n in mine if n["kind"] == "confirmation"]
                if confirmation["attempts"]:
                    break
                await asyncio.sleep(0.1)
            assert confirmation["status"] == "queued"
            assert "refused" in confirmation["lastError"]
    finally:
        first.kill()
    with ServerProcess(db, *quick, "--smtp-url", smtp.url):
        (arrived,) = await asyncio.to_thread(smtp.wait_for, client_email, 1, 30)
        assert "REQUEST" in str(arrived.message())
        await asyncio.to_thread(smtp.wait_for, doctor_email, 1, 30)
