"""The client's list of providers: each name on at most two lines, cut where a word ends (and
marked … when cut), with a line under it from the screen (when the provider is next free); a filter
that narrows the list to the names holding what was typed; and the line above the grid that names
the chosen provider in full.

The list keeps the providers and the filter, and draws the names again whenever its width or the
filter changes; choosing one (highlighting it, or Enter) is the screen's business."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option
from wcwidth import wrap

from shared.wire import Provider

NAME_LINES = 2
"""The most lines a provider's name takes in the list."""

DETAIL_INDENT = "  "
"""Before the line under a name, so that names stand out."""

FALLBACK_WIDTH = 19
"""The width names are cut to before the list has been laid out."""

ELLIPSIS = "…"

FILTERING = "-filtering"
"""The class of the pane while its filter is shown."""


def name_lines(name: str, width: int, lines: int = NAME_LINES) -> list[str]:
    """The name in at most `lines` lines of `width` terminal cells, broken where words end; when
    it does not fit, the last line ends in … after the last whole word that leaves room for it. A
    word longer than a line (rare in a name) is cut, and ends in … too."""
    width = max(2, width)
    wrapped = wrap(name, width, break_long_words=False, break_on_hyphens=False) or [""]
    fitted = [_clipped(line, width) if cell_len(line) > width else line for line in wrapped]
    if len(fitted) <= lines:
        return fitted
    kept, last = fitted[: lines - 1], fitted[lines - 1]
    if not last.endswith(ELLIPSIS):
        while cell_len(f"{last} {ELLIPSIS}") > width and " " in last:
            last = last.rsplit(" ", 1)[0]
        last = f"{last} {ELLIPSIS}" if cell_len(last) < width - 1 else _clipped(last, width)
    return [*kept, last]


def _clipped(text: str, width: int) -> str:
    """Text cut to `width` cells, the last of them …."""
    return set_cell_size(text, width - 1).rstrip() + ELLIPSIS


def matches(provider: Provider, text: str) -> bool:
    """Does the provider's name (or id) hold what was typed, whatever the case?"""
    wanted = " ".join(text.split()).casefold()
    return wanted in (provider.name or "").casefold() or wanted in provider.provider_id.casefold()


class ProviderFilter(Input):
    """What the provider list is narrowed to; Esc clears it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "clear", "Clear the filter", id="providers.clear_filter"),
        Binding("down", "to_list", "To the list", show=False, id="providers.to_list"),
    ]

    class Cleared(Message):
        """Esc: the filter is empty again."""

    class Leaving(Message):
        """Down: the user goes on to the list."""

    def action_clear(self) -> None:
        self.value = ""
        self.post_message(self.Cleared())

    def action_to_list(self) -> None:
        self.post_message(self.Leaving())


class ProviderList(OptionList):
    """Providers by name, each with a line the screen writes (`detail`), narrowed by `filter`."""

    def __init__(
        self, detail: Callable[[Provider], str], *, id: str | None = None, name: str | None = None
    ) -> None:
        super().__init__(id=id, name=name, markup=False)
        self.detail = detail
        self.providers: list[Provider] = []
        self._filter = ""
        self._drawn_width = 0

    @property
    def shown(self) -> list[Provider]:
        """The providers the filter lets through, in the list's order."""
        return [p for p in self.providers if matches(p, self._filter)]

    @property
    def filter(self) -> str:
        return self._filter

    @filter.setter
    def filter(self, text: str) -> None:
        if text != self._filter:
            self._filter = text
            self._draw()

    def show(self, providers: Sequence[Provider], chosen: str | None) -> None:
        """List these providers (those the filter lets through), `chosen` highlighted."""
        self.providers = list(providers)
        self._draw(chosen)

    def highlight(self, provider_id: str | None) -> bool:
        """Highlight this provider, if it is shown."""
        for index, provider in enumerate(self.shown):
            if provider.provider_id == provider_id:
                self.highlighted = index
                return True
        return False

    @property
    def _width(self) -> int:
        return self.scrollable_content_region.width or FALLBACK_WIDTH

    def label(self, provider: Provider) -> str:
        """A provider's name in at most two lines of the list's width, then the screen's line."""
        name = name_lines(provider.name or provider.provider_id, self._width)
        detail = self.detail(provider)
        return "\n".join([*name, f"{DETAIL_INDENT}{detail}"] if detail else name)

    def _draw(self, chosen: str | None = None) -> None:
        """Put the providers the filter lets through in the list, keeping the highlighted one (or
        `chosen`) highlighted if it is still there, else the first."""
        highlighted = self.highlighted_option
        keep = chosen or (highlighted.id if highlighted is not None else None)
        self._drawn_width = self._width
        shown = self.shown
        if shown:
            self.set_options([Option(self.label(p), id=p.provider_id) for p in shown])
            if not self.highlight(keep):
                self.highlighted = 0
        elif self.providers:
            self.set_options([Option(f"No name holds “{self._filter}”: Esc clears", disabled=True)])
        else:
            self.clear_options()

    def on_resize(self, event: events.Resize) -> None:
        if self.providers and self._width != self._drawn_width:
            self._draw()


class ProviderPane(Vertical):
    """The list of providers, with the filter above it once `/` is pressed: typing narrows the
    list, Enter picks the highlighted provider, Down goes on to the list, Esc clears the filter.
    While a filter stands it is shown above the list, and Esc in the list clears it first."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "clear_filter", "Clear the filter", id="providers.clear_standing_filter"),
    ]

    def __init__(self, detail: Callable[[Provider], str], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._detail = detail

    def compose(self) -> ComposeResult:
        with Horizontal(id="provider-filter-row"):
            yield Label("Filter:")
            yield ProviderFilter(placeholder="part of a name", compact=True, id="provider-filter")
        yield ProviderList(self._detail, id="providers")

    @property
    def provider_list(self) -> ProviderList:
        return self.query_one(ProviderList)

    @property
    def filter_input(self) -> ProviderFilter:
        return self.query_one(ProviderFilter)

    def start_filter(self) -> None:
        """Show the filter and type into it."""
        self.add_class(FILTERING)
        self.filter_input.focus()

    def drop_filter(self) -> None:
        """The whole list again, and no filter above it (a provider was picked, say)."""
        self.filter_input.value = ""
        self.provider_list.filter = ""
        self.remove_class(FILTERING)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear_filter":  # Esc in the list: clears a filter first, if one stands
            return bool(self.provider_list.filter)
        return True

    def action_clear_filter(self) -> None:
        self.drop_filter()
        self.provider_list.focus()

    @on(Input.Changed, "#provider-filter")
    def _narrow(self, event: Input.Changed) -> None:
        event.stop()
        self.provider_list.filter = event.value

    @on(Input.Submitted, "#provider-filter")
    def _pick(self, event: Input.Submitted) -> None:
        event.stop()
        options = self.provider_list
        # Selected by the list itself, so that the screen hears OptionSelected as from the list
        # (a message sent from here would stop here, its sender).
        options.call_next(options.action_select)

    @on(ProviderFilter.Cleared)
    def _cleared(self, event: ProviderFilter.Cleared) -> None:
        event.stop()
        self.remove_class(FILTERING)
        self.provider_list.focus()

    @on(ProviderFilter.Leaving)
    def _to_list(self, event: ProviderFilter.Leaving) -> None:
        event.stop()
        self.provider_list.focus()


class ChosenProvider(Static):
    """Above the grid: whose week it is, the name whole, and what the screen says of them (when
    they are next free; how to choose one of their appointment types); at phone width (where the
    list is a picker) also the key that opens the list. No part is broken over two lines where a
    line of its own would hold it. A click opens the list."""

    PICKER_HINT = "▾ p: providers"

    class Clicked(Message):
        """The user clicked the line: show the providers."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self._shown: tuple[str, str, bool, str] = ("", "", False, "")

    def show(self, name: str, detail: str, *, picker: bool, hint: str = "") -> None:
        """Name the provider and say `detail`, then `hint` (a key to press); with `picker`, how
        to choose another."""
        self._shown = (name, detail, picker, hint)
        self._draw()

    def _draw(self) -> None:
        """The name (wrapped where words end), then the detail, the screen's hint and the
        picker's, each on the line where the one before ends if it fits there whole, else on a
        line of its own."""
        name, detail, picker, hint = self._shown
        line = Content.from_markup("[b]$name[/b]", name=name)
        then = [(Content(detail), "  ·  ")] if detail else []
        if hint:
            then.append((Content.from_markup("[$text-accent]$hint[/]", hint=hint), "  ·  "))
        if picker:
            keys = Content.from_markup("[b $text-accent]$hint[/]", hint=self.PICKER_HINT)
            then.append((keys, "  "))
        width = self.content_region.width
        for part, separator in then:
            last = line.wrap(width)[-1] if width else line
            fits = not width or last.cell_length + len(separator) + part.cell_length <= width
            line = Content.assemble(line, separator if fits else "\n", part)
        self.update(line)

    def on_resize(self) -> None:
        self._draw()

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self.post_message(self.Clicked())
