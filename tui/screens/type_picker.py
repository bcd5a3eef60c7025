"""What a provider offers, for a client to choose from: each appointment type with its length,
its description and when it may be booked, and last "Any length" (no type: + and - set the
length). Enter (or a click) chooses; Esc keeps what was chosen before."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option, OptionDoesNotExist

from shared.service_wire import Service
from tui.type_choice import terms

HINT = "Enter chooses · Esc: no change"
"""Under the list, in the dialog's border."""

ANY_LENGTH = "any-length"
"""The id of the option that chooses no type."""


@dataclass(frozen=True)
class Picked:
    """What the client chose: a type, or None for any length."""

    service: Service | None


def option_for(service: Service) -> Option:
    """A type as the list shows it: its name and length, what it is, when it may be booked."""
    lines = [
        Content.from_markup(
            "[b]$name[/b] · $minutes min", name=service.name, minutes=service.minutes
        )
    ]
    if service.description:
        lines.append(Content(service.description))
    when = terms(service)
    if when:
        lines.append(Content.from_markup("[$text-muted]$when[/]", when=when))
    return Option(Content("\n").join(lines), id=service.service_id)


class TypePicker(ModalScreen[Picked | None]):
    """The provider's types; answers Picked, or None when Esc keeps the choice as it was."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "keep", "Keep the type as it was", id="types.keep"),
    ]

    AUTO_FOCUS = "#types"

    DEFAULT_CSS = """
    TypePicker { align: center middle; }
    TypePicker > Vertical {
        width: 64; max-width: 100%; height: auto; border: thick $accent; padding: 0 1;
        background: $surface;
    }
    TypePicker #title { text-style: bold; width: 100%; padding: 0 1; margin-bottom: 1; }
    TypePicker #types {
        height: auto; border: none; padding: 0; background: $surface; scrollbar-gutter: stable;
    }
    TypePicker #types > .option-list--option { padding: 0 1; }
    TypePicker.-narrow > Vertical { width: 100%; padding: 0; }
    """

    def __init__(
        self, provider_name: str, services: Sequence[Service], chosen: Service | None
    ) -> None:
        super().__init__()
        self.provider_name = provider_name
        self.services = list(services)
        self.chosen = chosen

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_subtitle = HINT
            yield Label(f"What {self.provider_name} offers", id="title", markup=False)
            options: list[Option | None] = []
            for service in self.services:
                options += [option_for(service), None]
            options.append(
                Option(
                    Content.assemble(
                        Content.from_markup("[b]Any length[/b], no type"),
                        "\n",
                        Content.from_markup(
                            "[$text-muted]+ and - set how long, a slot at a time[/]"
                        ),
                    ),
                    id=ANY_LENGTH,
                )
            )
            yield OptionList(*options, id="types")

    def on_mount(self) -> None:
        """The type chosen stands highlighted; with none, the first type (one is looked for)."""
        listed = self.query_one(OptionList)
        try:
            chosen = self.chosen.service_id if self.chosen is not None else None
            listed.highlighted = 0 if chosen is None else listed.get_option_index(chosen)
        except OptionDoesNotExist:  # no longer offered
            listed.highlighted = 0

    @on(OptionList.OptionSelected, "#types")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        picked = next((s for s in self.services if s.service_id == event.option.id), None)
        self.dismiss(Picked(picked))

    def action_keep(self) -> None:
        self.dismiss(None)
