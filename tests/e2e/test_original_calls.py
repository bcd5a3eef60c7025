"""The original take-home README's four calls, sent by curl exactly as that README writes them,
against a real `serve --no-auth` process.

They are kept here, apart from our own README (whose walk-through has its own test), so that a
change to our README cannot hide a break of the API's first promise. Only what must change is
changed: the host and port, the `<some uuid>` placeholders, the slot id from the second call's
answer, and the dates, moved into the future with their times kept (the reserve call's query
still names a day three days before the slot, as the original does).
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

from tests.e2e.server_process import ServerProcess

ORIGINAL_HOST = "http://127.0.0.1:5000"
ORIGINAL_DAY = "2024-08-30"
ORIGINAL_QUERY_DAY = "2024-08-27"  # the reserve call's query: three days before the slot
SLOT_ID_PLACEHOLDERS = (
    "<some timeSlotId uuid from previous request that matches our provided timeSlot>",
    "<timeSlotId>",
)

CALLS = Path(__file__).with_name("original_calls.txt")
"""The four calls as the original take-home README writes them, byte for byte."""


def original_calls() -> list[str]:
    calls = ["curl " + call for call in CALLS.read_text().split("curl ") if call]
    assert len(calls) == 4
    return calls


STATUS_MARK = "\nHTTP-STATUS:"


def run_curl(call: str) -> tuple[int, Any]:
    """One call run by bash as pasted; curl is only told to be quiet and to print the status
    after the body (output options: what it sends is unchanged)."""
    script = call.replace("curl ", f"curl -sS -w '{STATUS_MARK}%{{http_code}}' ", 1)
    done = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    body, _, status = done.stdout.rpartition(STATUS_MARK)
    return int(status), json.loads(body)


def test_the_original_readmes_four_calls_book_a_slot_without_a_token(tmp_path: Path) -> None:
    day = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=40)
    query_day = day - dt.timedelta(days=3)
    provider, client = str(uuid.uuid4()), str(uuid.uuid4())
    calls = original_calls()
    assert all("Authorization" not in call for call in calls)

    with ServerProcess(tmp_path / "open.db", "--no-auth") as server:

        def as_sent(call: str, slot_id: str = "") -> str:
            call = call.replace(ORIGINAL_HOST, server.url)
            call = call.replace(ORIGINAL_DAY, day.isoformat())
            call = call.replace(ORIGINAL_QUERY_DAY, query_day.isoformat())
            for placeholder in SLOT_ID_PLACEHOLDERS:
                call = call.replace(placeholder, slot_id)
            return call

        submit, listing, reserve, confirm = calls
        status, submitted = run_curl(as_sent(submit.replace("<some uuid>", provider)))
        assert (status, submitted["message"]) == (201, "Availability submitted successfully")
        assert submitted["created"] == 12

        status, listed = run_curl(as_sent(listing))
        assert status == 200
        at_noon = [s for s in listed["availableTimeSlots"] if s["timestamp"] == f"{day} 12:00:00"]
        assert [s["providerId"] for s in at_noon] == [provider]
        assert [s["timestamp"] for s in listed["availableTimeSlots"]] == [
            f"{day} 12:{minute}:00" for minute in ("00", "15", "30", "45")
        ]
        slot_id = at_noon[0]["timeSlotId"]

        reserve_call = as_sent(reserve.replace("<some uuid>", client), slot_id)
        assert f"?startTime={query_day}%2012%3A00%3A00&endTime={query_day}%2013%3A00%3A00" in (
            reserve_call
        )
        status, reserved = run_curl(reserve_call)
        assert (status, reserved["message"]) == (201, "Time slot reserved successfully"), reserved
        assert reserved["reservation"]["clientId"] == client
        assert reserved["reservation"]["status"] == "RESERVED"

        status, confirmed = run_curl(as_sent(confirm, slot_id))
        assert (status, confirmed["message"]) == (200, "Reservation confirmed successfully")
        assert confirmed["reservation"]["status"] == "CONFIRMED"
        assert confirmed["reservation"]["timeSlotId"] == slot_id
