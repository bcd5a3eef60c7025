"""The README's curl walk-through, run as written against a real server process."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.e2e.server_process import ServerProcess

README = Path(__file__).resolve().parents[2] / "README.md"


def walkthrough_script() -> str:
    text = README.read_text()
    section = text.split("## A walk-through with curl", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    assert len(blocks) == 4, "the walk-through has the seed's four steps"
    return "\n".join(blocks)


def test_the_readme_walkthrough_books_a_slot_as_written(tmp_path: Path) -> None:
    with ServerProcess(tmp_path / "readme.db", "--no-auth") as server:
        script = walkthrough_script().replace("http://127.0.0.1:8080", server.url)
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert '"message":"Availability submitted successfully","created":12' in out
    assert out.count('"timestamp":"2030-08-30 12:') >= 4
    assert '"message":"Time slot reserved successfully"' in out
    assert '"message":"Reservation confirmed successfully"' in out
    assert '"status":"CONFIRMED"' in out
    assert "problems/" not in out
