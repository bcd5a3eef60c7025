"""The documentation stands alone: someone who clones the repository finds everything it points to
inside it, and the architecture document names modules that exist."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
MODULE = re.compile(r"`((?:backend|shared|tui|tests|bench)/[\w/]+(?:\.py)?)`")
OUTSIDE = re.compile(r"(?<![\w.])\.\./[A-Za-z]")
"""A relative path that climbs out of the folder it is written in, to something named."""


def tracked_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    return [ROOT / name for name in listed]


def markdown_files() -> list[Path]:
    return [path for path in tracked_files() if path.suffix == ".md"]


def test_every_link_in_the_documentation_leads_to_a_file_in_the_repository() -> None:
    for document in markdown_files():
        for target in LINK.findall(document.read_text()):
            if re.match(r"[a-z]+:", target):
                continue  # a web address
            resolved = (document.parent / target).resolve()
            assert resolved.is_relative_to(ROOT), f"{document.name} points outside: {target}"
            assert resolved.exists(), f"{document.name} links to {target}, which is not there"


def test_no_file_of_the_product_points_outside_the_repository() -> None:
    for path in tracked_files():
        if path.suffix in {".svg", ".png"} or path.name.startswith("test_timezone"):
            continue  # pictures; and the time-zone tests, which feed such paths to be refused
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            assert not OUTSIDE.search(line), f"{path.relative_to(ROOT)}:{number}: {line.strip()}"


def test_the_readme_sends_contributors_to_the_architecture_document() -> None:
    assert "[docs/ARCHITECTURE.md](docs/ARCHITECTURE.md)" in (ROOT / "README.md").read_text()


def test_the_architecture_document_names_only_modules_that_exist() -> None:
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    named = set(MODULE.findall(text))
    described = re.findall(r"^\| `([\w/]+\.py)`", text, flags=re.MULTILINE)
    assert len(named) + len(described) > 20
    for module in named:
        assert (ROOT / module).exists(), f"docs/ARCHITECTURE.md names {module}, which is not there"
    for table_cell in described:
        found = list(ROOT.glob(f"*/{table_cell}")) + list(ROOT.glob(f"*/*/{table_cell}"))
        assert found, f"docs/ARCHITECTURE.md describes {table_cell}, which is not there"
