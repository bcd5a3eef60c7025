"""The documentation's pages read as Markdown, as GitHub shows them: the section under a heading,
the fenced code blocks it holds, the anchors its headings make, the links it follows.

Tests that run a page's examples as written find them here by page and heading, so an example
that moves to another page is still found (and run) once its test names the new place. Parsing is
markdown-it-py's (the parser Textual's own Markdown widget uses), so a `#` comment inside a code
block is never taken for a heading; anchors are made by its anchors plugin, whose slugs follow
GitHub's rules (lower case, spaces to hyphens, punctuation dropped, `-1`, `-2` after a repeat).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.anchors import anchors_plugin

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"


@cache
def _tokens(page: Path, text: str) -> tuple[Token, ...]:
    parser = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    parser.use(anchors_plugin, min_level=1, max_level=6)
    return tuple(parser.parse(text))


def tokens(page: Path) -> tuple[Token, ...]:
    """The page's block tokens (inline ones under each `inline` token's children)."""
    return _tokens(page, page.read_text())


def title(inline: Token) -> str:
    """A heading's words as a reader sees them: text and code, without the marks around them."""
    return "".join(
        child.content for child in inline.children or [] if child.type in {"text", "code_inline"}
    )


def headings(page: Path) -> list[tuple[int, str, str]]:
    """Each heading of the page: its level, its title and its anchor."""
    found = tokens(page)
    return [
        (int(token.tag[1]), title(found[index + 1]), str(token.attrGet("id")))
        for index, token in enumerate(found)
        if token.type == "heading_open"
    ]


def anchors(page: Path) -> set[str]:
    """The `#anchor`s a link may name on this page."""
    return {anchor for _, _, anchor in headings(page)}


def _section_tokens(page: Path, heading: str) -> tuple[list[Token], tuple[int, int | None]]:
    """The tokens under `heading` down to the next heading of its level or above, and the lines
    they span (the end None at the end of the page)."""
    found = tokens(page)
    starts = [
        index
        for index, token in enumerate(found)
        if token.type == "heading_open" and title(found[index + 1]) == heading
    ]
    assert len(starts) == 1, f"{page.name} has {len(starts)} headings {heading!r}, not one"
    (start,) = starts
    level = int(found[start].tag[1])
    end = next(
        (
            index
            for index in range(start + 1, len(found))
            if found[index].type == "heading_open" and int(found[index].tag[1]) <= level
        ),
        len(found),
    )
    first_line = (found[start].map or [0])[0]
    last_line = (found[end].map or [0])[0] if end < len(found) else None
    return list(found[start:end]), (first_line, last_line)


def section(page: Path, heading: str) -> str:
    """The Markdown under `heading` (its title as shown), down to the next heading of its level
    or above: its subsections included."""
    _, (first, last) = _section_tokens(page, heading)
    return "\n".join(page.read_text().splitlines()[first:last])


def code_blocks(page: Path, heading: str, language: str = "sh") -> list[str]:
    """The fenced code blocks marked `language` under `heading`, in order, as written."""
    found, _ = _section_tokens(page, heading)
    return [token.content for token in found if token.type == "fence" and token.info == language]


def links(page: Path) -> list[str]:
    """Every address the page links to or shows a picture from, as written."""
    return _links(tokens(page))


def opening_links(page: Path) -> list[str]:
    """The links of the page's opening, before its first section (`##`): its contents list."""
    found = tokens(page)
    first = next(
        (i for i, token in enumerate(found) if token.type == "heading_open" and token.tag != "h1"),
        len(found),
    )
    return _links(found[:first])


def _links(block_tokens: Iterable[Token]) -> list[str]:
    found: list[str] = []
    for token in block_tokens:
        for child in token.children or []:
            if child.type == "link_open":
                found.append(str(child.attrGet("href")))
            elif child.type == "image":
                found.append(str(child.attrGet("src")))
    return found
