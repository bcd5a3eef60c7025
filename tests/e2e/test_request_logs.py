"""A user's complaint leads to the log line: a real server process writes one access-log line per
request (plain, or a JSON object per line with --log-format json), keeps or makes the request's id,
echoes it, and names it in every problem document; --metrics-port serves the metrics to a scraper
on loopback without a token."""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.server_process import ServerProcess
from tests.e2e.test_two_processes import admin_token

Json = dict[str, Any]
OPEN_SLOTS = "/availability?startTime=2030-03-06T00:00:00Z&endTime=2030-03-07T00:00:00Z"
PLAIN_LINE = re.compile(
    r"INFO slotbook\.access: (?P<method>[A-Z]+) (?P<route>\S+) (?P<status>\d{3})"
    r" (?P<ms>\d+\.\d\d) ms id=(?P<id>\S+)$"
)


def wait_for_line(server: ServerProcess, wanted: Callable[[str], bool]) -> str:
    """The first line of the server's log that `wanted` accepts, once the server has written it
    (the access line is written just after the response is sent)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for line in list(server.log):
            if wanted(line):
                return line
        time.sleep(0.02)
    raise AssertionError("no such line in the log:\n" + "".join(server.log))


def json_lines(server: ServerProcess) -> list[Json]:
    return [json.loads(line) for line in list(server.log) if line.strip()]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_json_log_lines_name_the_request_id_the_caller_sent(tmp_path: Path) -> None:
    db = tmp_path / "slotbook.sqlite3"
    token = admin_token(str(db))
    with ServerProcess(db, "--log-format", "json") as server:
        headers = {"Authorization": f"Bearer {token}", "X-Request-Id": "complaint-42"}
        with httpx.Client(base_url=server.url, headers=headers) as http:
            listed = http.get(OPEN_SLOTS)
            assert listed.status_code == 200
            assert listed.headers["X-Request-Id"] == "complaint-42"
            refused = http.delete("/reservations/999999")
        assert refused.status_code == 404
        assert refused.json()["instance"] == "urn:slotbook:request:complaint-42"
        wait_for_line(server, lambda line: '"status":404' in line)
        # Every line of the log is one JSON object, the start-up line as well.
        records = json_lines(server)
        assert any("listening on" in record["message"] for record in records)
        about = [record for record in records if record.get("request_id") == "complaint-42"]
        assert [(r["method"], r["route"], r["status"]) for r in about] == [
            ("GET", "list_open_slots", 200),
            ("DELETE", "cancel_reservation", 404),
        ]
        for record in about:
            assert record["logger"] == "slotbook.access"
            assert record["level"] == "INFO"
            assert isinstance(record["duration_ms"], float)
            assert record["duration_ms"] >= 0
            assert record["time"].endswith("+00:00")


def test_plain_lines_and_ids_made_for_requests_that_brought_none(tmp_path: Path) -> None:
    db = tmp_path / "slotbook.sqlite3"
    token = admin_token(str(db))
    with ServerProcess(db) as server:
        with httpx.Client(base_url=server.url) as http:
            unsigned = http.get(OPEN_SLOTS)
            # An id with a space (or longer than 128 characters) is not kept: a new one is made.
            odd = http.get("/nowhere/at%20all", headers={"X-Request-Id": "two words"})
            long = http.get(OPEN_SLOTS, headers={"X-Request-Id": "x" * 129})
            signed = http.get(OPEN_SLOTS, headers={"Authorization": f"Bearer {token}"})
        made = [answer.headers["X-Request-Id"] for answer in (unsigned, odd, long, signed)]
        for request_id in made:
            assert re.fullmatch(r"[0-9a-f]{16}", request_id)
        assert len(set(made)) == 4
        assert unsigned.status_code == 401
        assert unsigned.json()["instance"] == f"urn:slotbook:request:{made[0]}"
        assert odd.status_code == 404
        assert odd.json()["instance"] == f"urn:slotbook:request:{made[1]}"
        assert "instance" not in signed.text  # only problem documents carry it
        lines = {
            found["id"]: found
            for line in [wait_for_line(server, lambda text: made[3] in text), *list(server.log)]
            if (found := PLAIN_LINE.search(line.rstrip("\n")))
        }
        assert lines[made[0]]["route"] == "list_open_slots"
        assert lines[made[0]]["status"] == "401"
        # A path that no route takes is logged as sent, so the line still says what was asked.
        assert lines[made[1]]["route"] == "/nowhere/at%20all"
        assert lines[made[3]]["status"] == "200"


def test_the_metrics_port_serves_a_scraper_without_a_token(tmp_path: Path) -> None:
    db = tmp_path / "slotbook.sqlite3"
    token = admin_token(str(db))
    port = free_port()
    with ServerProcess(db, "--metrics-port", str(port)) as server:
        with httpx.Client(base_url=server.url) as http:
            assert http.get("/metrics").status_code == 401  # the main port asks for a token
            for _ in range(3):
                http.get(OPEN_SLOTS, headers={"Authorization": f"Bearer {token}"})
        scraped = httpx.get(f"http://127.0.0.1:{port}/metrics")
        assert scraped.status_code == 200
        assert scraped.headers["content-type"].startswith("text/plain; version=")
        counts = {
            (sample.labels.get("route"), sample.labels.get("status")): sample.value
            for family in text_string_to_metric_families(scraped.text)
            if family.name == "slotbook_http_request_duration_seconds"
            for sample in family.samples
            if sample.name.endswith("_count")
        }
        assert counts[("list_open_slots", "2xx")] == 3
        assert counts[("metrics_page", "4xx")] == 1
        # Loopback only: the listener is not on every address.
        assert wait_for_line(server, lambda line: f"metrics on http://127.0.0.1:{port}/" in line)
