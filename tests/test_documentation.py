"""The documentation stands alone: someone who clones the repository finds everything it points to
inside it, every link to a heading finds that heading, and the architecture document names modules
that exist."""

from __future__ import annotations

import re
import subprocess
from functools import partial
from pathlib import Path

from tests.markdown_pages import DOCS, README, anchors, headings, links, opening_links

ROOT = Path(__file__).resolve().parents[1]
MODULE = re.compile(r"`((?:backend|shared|tui|tests|bench)/[\w/]+(?:\.py)?)`")
OUTSIDE = re.compile(r"(?<![\w.])\.\./[A-Za-z]")
"""A relative path that climbs out of the folder it is written in, to something named."""
PAGE_NAMED = re.compile(r"(?<![\w/])docs/([\w-]+\.md)(?:#([\w-]+))?")
"""A page of docs/, and perhaps a heading of it, named in a file that is not a page: a message or
a `--help` text sending its reader there."""
LINK_TARGET = re.compile(r"\]\(([^)\s#]+)")
"""Where a Markdown link or picture leads, as written (a page in docs/ reaches up to the rest)."""


def tracked_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    return [ROOT / name for name in listed]


def markdown_files() -> list[Path]:
    return [path for path in tracked_files() if path.suffix == ".md"]


def followed_links(document: Path) -> list[tuple[Path, str]]:
    """The page each of the document's own links leads to (itself for `#anchor`), and the
    anchor it names ("" for none): web addresses left out."""
    found = []
    for link in links(document):
        if re.match(r"[a-z]+:", link):
            continue  # a web address, or mail
        target, _, anchor = link.partition("#")
        found.append(((document.parent / target).resolve() if target else document, anchor))
    return found


def test_every_link_in_the_documentation_leads_to_a_file_in_the_repository() -> None:
    for document in markdown_files():
        for target, _ in followed_links(document):
            name = document.relative_to(ROOT)
            assert target.is_relative_to(ROOT), f"{name} points outside: {target}"
            assert target.exists(), f"{name} links to {target.relative_to(ROOT)}, not there"


def test_every_link_to_a_heading_finds_that_heading() -> None:
    """A `#anchor`, on the same page or another, is one that page's headings make on GitHub."""
    followed = 0
    for document in markdown_files():
        for target, anchor in followed_links(document):
            if not anchor:
                continue
            followed += 1
            where = f"{document.relative_to(ROOT)} links to {target.relative_to(ROOT)}#{anchor}"
            assert target.suffix == ".md", f"{where}: an anchor in a file that is not a page"
            assert anchor in anchors(target), f"{where}, a heading it does not have"
    assert followed > 5


def test_every_page_the_programs_send_a_reader_to_is_there() -> None:
    named = 0
    for path in tracked_files():
        if path.suffix in {".md", ".svg", ".png"}:
            continue  # pages are checked by their links; pictures are not read
        for page, anchor in PAGE_NAMED.findall(path.read_text(errors="replace")):
            named += 1
            where = f"{path.relative_to(ROOT)} names docs/{page}"
            assert (ROOT / "docs" / page).is_file(), f"{where}, which is not there"
            assert not anchor or anchor in anchors(ROOT / "docs" / page), f"{where}#{anchor}"
    assert named > 0


def test_no_file_of_the_product_points_outside_the_repository() -> None:
    for path in tracked_files():
        if path.suffix in {".svg", ".png"} or path.name.startswith("test_timezone"):
            continue  # pictures; and the time-zone tests, which feed such paths to be refused
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if path.suffix == ".md":  # a link up out of docs/ that lands in the repository
                line = LINK_TARGET.sub(partial(within, path), line)
            assert not OUTSIDE.search(line), f"{path.relative_to(ROOT)}:{number}: {line.strip()}"


def within(document: Path, link: re.Match[str]) -> str:
    """A link's target, blanked when it leads to a place inside the repository."""
    target = link.group(1)
    return "](" if (document.parent / target).resolve().is_relative_to(ROOT) else f"]({target}"


def test_the_readme_is_a_front_door() -> None:
    """What slotbook is and the two commands on its first screen; the rest a link away, so that it
    stays short as slotbook grows."""
    text = README.read_text()
    first_screen = "\n".join(text.splitlines()[:40])
    assert "slotbook books appointments" in first_screen
    assert "make run" in first_screen
    assert "make test" in first_screen
    assert "scripts/system-packages" in first_screen, "what make test needs, and who installs it"
    assert len(text.splitlines()) <= 200, "the README grows: move the detail into docs/"
    pages = {path.name for path in DOCS.glob("*.md")}
    linked = {link.removeprefix("docs/") for link in links(README) if link.startswith("docs/")}
    assert pages <= linked, f"pages the README does not lead to: {pages - linked}"


def test_every_reader_page_says_whom_it_is_for_and_lists_its_sections() -> None:
    pages = sorted(set(DOCS.glob("*.md")) - {DOCS / "ARCHITECTURE.md"})
    assert len(pages) >= 4
    for page in pages:
        opening = page.read_text().split("\n## ", 1)[0]
        first_words = opening.split("\n\n")[1]
        assert first_words.startswith("For "), f"{page.name}: open with whom it is for"
        sections = {anchor for level, _, anchor in headings(page) if level == 2}
        listed = {link.removeprefix("#") for link in opening_links(page) if link.startswith("#")}
        assert sections <= listed, f"{page.name}'s contents leave out {sections - listed}"


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
