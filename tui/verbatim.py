"""Words that came from someone else, shown exactly as they came.

A name, a note, an appointment type's name or description, the server's reason for a refusal
(which may echo what was typed): Textual reads a string given to most widgets as markup, where
"[b]" would turn the rest bold and "[/oops]" would stop the screen with a MarkupError. So a widget
that shows such words is made with `markup=False` (a Static, a Label, an OptionList), the app's
toasts are never markup (`SlotbookApp.notify`), and where a widget takes a renderable instead of
a string (a DataTable's cell, a Rich table's), it gets one from here.
"""

from __future__ import annotations

from rich.text import Text


def verbatim(text: str, *, wrap: bool = True) -> Text:
    """`text` as plain characters, square brackets and all. Without `wrap`, on one line, as
    Textual draws a string cell of a DataTable one line high."""
    return Text(text, no_wrap=not wrap, end="")
