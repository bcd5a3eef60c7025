"""The README's curl walk-through, and the examples of docs/api.md that follow it, run as written
against a real server process."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from shared.timefmt import parse_time
from tests.e2e.server_process import ServerProcess
from tests.markdown_pages import DOCS, README, code_blocks

API = DOCS / "api.md"


def walkthrough_blocks() -> list[str]:
    blocks = code_blocks(README, "A walk-through with curl")
    assert len(blocks) == 5, "tokens, then the seed's four steps"
    return blocks


def run_script(script: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """A README block run with bash (stopping at the first failure), in `cwd`, with `env` added
    to this process's environment."""
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
        env={**os.environ, **env},
    )


def assert_booked(out: str) -> None:
    assert '"message":"Availability submitted successfully","created":12' in out
    assert out.count('"timestamp":"2030-08-30 12:') >= 4
    assert '"message":"Time slot reserved successfully"' in out
    assert '"message":"Reservation confirmed successfully"' in out
    assert '"status":"CONFIRMED"' in out
    assert "problems/" not in out


def test_the_readme_walkthrough_books_a_slot_as_written(tmp_path: Path) -> None:
    db = tmp_path / "slotbook.db"
    with ServerProcess(db) as server:
        script = "\n".join(walkthrough_blocks())
        script = script.replace("http://127.0.0.1:8080", server.url)
        script = script.replace(".venv/bin/slotbook-server", f"{sys.executable} -m backend")
        done = run_script(script, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert_booked(done.stdout)


def test_the_original_calls_work_without_tokens_in_no_auth_mode(tmp_path: Path) -> None:
    """The take-home's four calls, unchanged but for the dates: no Authorization header."""
    seed = "\n".join(walkthrough_blocks()[1:])
    seed = re.sub(r'-H "Authorization: Bearer \$\w+" ?', "", seed)
    seed = re.sub(r'-H "Idempotency-Key: [^"]*" ?', "", seed)
    seed = "\n".join(line for line in seed.splitlines() if line.strip() != "\\")
    assert "Authorization" not in seed
    with ServerProcess(tmp_path / "open.db", "--no-auth") as server:
        done = run_script(seed.replace("http://127.0.0.1:8080", server.url), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert_booked(done.stdout)


def schedule_block() -> str:
    blocks = code_blocks(API, "Weekly schedules")
    assert len(blocks) == 1, "one example: set the schedule, then read it back"
    block: str = blocks[0]
    return block


def test_the_readme_schedule_example_runs_as_written(tmp_path: Path) -> None:
    db = tmp_path / "slotbook.db"
    with ServerProcess(db) as server:
        script = "\n".join([walkthrough_blocks()[0], schedule_block()])
        script = script.replace("http://127.0.0.1:8080", server.url)
        script = script.replace(".venv/bin/slotbook-server", f"{sys.executable} -m backend")
        done = run_script(script, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "problems/" not in done.stdout
    saved, answer, monday, thursday = answers(done.stdout)
    assert saved["created"] > 0
    read = answer["schedule"]
    assert read == saved["schedule"]
    assert read["timeZone"] == "Europe/Berlin"
    assert read["weekly"][0] == {"day": "mon", "start": "09:00", "end": "12:00"}
    closed, shorter = read["exceptions"]
    first, second = date.fromisoformat(closed["date"]), date.fromisoformat(shorter["date"])
    assert (first.weekday(), second - first) == (0, timedelta(days=3)), "a Monday, its Thursday"
    assert 21 <= (first - date.today()).days <= 28, "well inside the 56 days' horizon"
    assert closed["hours"] == []
    assert shorter["hours"] == [{"start": "10:00", "end": "12:00"}]
    # What the example claims shows: the Monday closed, the Thursday open only 10:00-12:00.
    assert monday == {"timeSlots": []}
    berlin = [
        datetime.fromtimestamp(parse_time(slot["timestamp"]), ZoneInfo("Europe/Berlin"))
        for slot in thursday["timeSlots"]
    ]
    assert [(t.date(), t.strftime("%H:%M")) for t in berlin] == [
        (second, f"{hour}:{minute:02d}") for hour in (10, 11) for minute in (0, 15, 30, 45)
    ]
    assert {slot["status"] for slot in thursday["timeSlots"]} == {"AVAILABLE"}


def answers(out: str) -> list[Any]:
    """The JSON documents the calls printed, one after another."""
    decoder = json.JSONDecoder()
    found: list[Any] = []
    index = 0
    while index < len(out):
        if out[index].isspace():
            index += 1
            continue
        document, index = decoder.raw_decode(out, index)
        found.append(document)
    return found


def appointments_block() -> str:
    blocks = code_blocks(API, "Appointments longer than a slot, moves and notes")
    assert len(blocks) == 1, "one example: list, hold 45 minutes, try a move onto it"
    block: str = blocks[0]
    return block


def test_the_readme_appointments_example_runs_as_written(tmp_path: Path) -> None:
    db = tmp_path / "slotbook.db"
    with ServerProcess(db) as server:
        script = "\n".join([*walkthrough_blocks(), appointments_block()])
        script = script.replace("http://127.0.0.1:8080", server.url)
        script = script.replace(".venv/bin/slotbook-server", f"{sys.executable} -m backend")
        done = run_script(script, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    held, refused = done.stdout.splitlines()[-2:]
    assert '"minutes":45' in held
    assert '"timestamp":"2030-08-30 13:00:00"' in held
    assert '"note":"First visit; please call the front desk"' in held
    assert '"status":409' in refused
    assert "13:00:00" in refused, "the refusal names the slot in the way"


def test_the_appointment_types_example_runs_as_written(tmp_path: Path) -> None:
    blocks = code_blocks(API, "What a provider offers: appointment types")
    assert len(blocks) == 1, "one example: offer a type, list types, list fits, hold one"
    db = tmp_path / "slotbook.db"
    with ServerProcess(db) as server:
        script = "\n".join([*walkthrough_blocks(), blocks[0]])
        script = script.replace("http://127.0.0.1:8080", server.url)
        script = script.replace(".venv/bin/slotbook-server", f"{sys.executable} -m backend")
        done = run_script(script, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    *_, offered, fits, held = answers(done.stdout)
    assert [s["name"] for s in offered["services"]] == ["First assessment"]
    starts = [s["timestamp"][11:16] for s in fits["availableTimeSlots"]]
    assert starts == ["12:15", "12:30", "12:45", "13:00"]
    reservation = held["reservation"]
    assert (reservation["serviceName"], reservation["minutes"]) == ("First assessment", 60)
    assert reservation["timestamp"] == "2030-08-30 12:15:00"


def test_the_waitlist_example_runs_as_written(tmp_path: Path) -> None:
    blocks = code_blocks(API, "Waitlist")
    assert len(blocks) == 1, "one example: wait, the line, a cancel, the offer, booked"
    db = tmp_path / "slotbook.db"
    with ServerProcess(db) as server:
        script = "\n".join([*walkthrough_blocks(), blocks[0]])
        script = script.replace("http://127.0.0.1:8080", server.url)
        script = script.replace(".venv/bin/slotbook-server", f"{sys.executable} -m backend")
        done = run_script(script, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    *_, listed, cancelled, entry, confirmed = answers(done.stdout)
    assert [(e["clientName"], e["status"], e["position"]) for e in listed["entries"]] == [
        ("Alan Turing", "waiting", 1)
    ]
    booked = confirmed["reservation"]
    assert cancelled["timeSlot"]["timeSlotId"] == booked["timeSlotId"]
    shown = entry["entry"]
    assert (shown["status"], shown["position"]) == ("offered", 0)
    assert shown["offer"]["timeSlotId"] == booked["timeSlotId"]
    assert shown["offer"]["timestamp"] == "2030-08-30 12:00:00"
    assert (confirmed["message"], booked["clientId"]) == (
        "Reservation confirmed successfully",
        shown["clientId"],
    )
