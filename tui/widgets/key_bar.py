"""The key bar at the foot of a screen: Textual's Footer, and at phone width (tui/narrow.py), where
the footer would cut off all but its first few keys, a compact one: the keys the screen names as
the ones that matter most (its `PHONE_KEYS`, binding id to a short name, most important first), as
many as fit, and `?` Help always. Every key stays bound; the help lists them all, in full.

On a phone the key bar is also the row of buttons: a tap on a key presses it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from rich.cells import cell_len
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.geometry import Size
from textual.widgets import Footer
from textual.widgets._footer import FooterKey, FooterLabel, KeyGroup

from tui.narrow import NARROW_COLUMNS

HELP = "app.help"
"""The binding the phone's key bar always shows."""


@dataclass
class _Shown:
    """One entry of the phone's key bar: a key, or a group of keys with one name ("[ ] Week")."""

    bindings: list[tuple[Binding, bool, str]]
    """Each key's binding, whether it is enabled, and its tooltip."""
    name: str

    @property
    def grouped(self) -> bool:
        return len(self.bindings) > 1


class KeyBar(Footer):
    """The footer every screen with keys has (the command palette is on ctrl+p, in the help)."""

    DEFAULT_CSS = """
    KeyBar.-compact KeyGroup { margin: 0; padding: 0; }
    KeyBar.-compact FooterKey.-grouped { margin: 0 1 0 0; }
    KeyBar.-compact FooterLabel { margin: 0 1 0 0; }
    """

    def __init__(self) -> None:
        super().__init__(show_command_palette=False)
        self.narrow = False
        """Is the bar the phone's (laid out for a width under NARROW_COLUMNS)?"""
        self.crowded: int | None = None
        """The width at which the wide bar's keys did not fit (so that it is compact, as the
        phone's), or None while they do."""

    def on_resize(self, event: events.Resize) -> None:
        narrow = event.size.width < NARROW_COLUMNS
        if narrow != self.narrow:
            self.narrow = narrow
            self.compact = narrow
            self.crowded = None
            self.call_after_refresh(self.recompose)
        elif self.crowded is not None and event.size.width > self.crowded:
            self.crowded = None  # the full bar again, if it now fits (watch_virtual_size)
            self.call_after_refresh(self.recompose)

    def compose(self) -> ComposeResult:
        if self.narrow and hasattr(self.screen, "PHONE_KEYS"):
            if self._bindings_ready:
                yield from self._phone_keys()
        else:  # wide, or a screen that names no keys for a phone: all of them (compact there)
            self.compact = self.narrow or self.crowded is not None
            yield from super().compose()

    def watch_virtual_size(self, size: Size) -> None:
        """A wide bar whose keys do not all fit closes up (Textual's compact footer), so that the
        last of them, ? Help, is not cut off."""
        if not self.narrow and self.crowded is None and size.width > self.size.width > 0:
            self.crowded = self.size.width
            self.call_after_refresh(self.recompose)

    def _phone_keys(self) -> Iterator[FooterKey | FooterLabel | KeyGroup]:
        """The most important keys that fit, in the order the wide bar shows them."""
        chosen: Mapping[str, str] = {HELP: "", **getattr(self.screen, "PHONE_KEYS", {})}
        rank = {binding_id: place for place, binding_id in enumerate(chosen)}
        entries = self._entries(chosen)
        room = self.size.width
        kept: set[int] = set()
        by_rank = sorted(
            range(len(entries)),
            key=lambda index: min(rank[b.id or ""] for b, _, _ in entries[index].bindings),
        )
        for index in by_rank:
            width = self._width(entries[index])
            if width <= room:
                kept.add(index)
                room -= width
        for index, entry in enumerate(entries):
            if index not in kept:
                continue
            if entry.grouped:
                with KeyGroup():
                    for binding, enabled, tooltip in entry.bindings:
                        yield self._key(binding, "", enabled, tooltip, grouped=True)
                yield FooterLabel(entry.name)
            else:
                binding, enabled, tooltip = entry.bindings[0]
                yield self._key(binding, entry.name, enabled, tooltip)

    def _entries(self, chosen: Mapping[str, str]) -> list[_Shown]:
        """The chosen bindings the wide bar would show (one per action), a group's together."""
        entries: list[_Shown] = []
        actions: set[str] = set()
        for _node, binding, enabled, tooltip in self.screen.active_bindings.values():
            if not binding.show or binding.id not in chosen or binding.action in actions:
                continue
            actions.add(binding.action)
            shown = (binding, enabled, tooltip)
            last = entries[-1] if entries else None
            group = binding.group
            if group is not None and last is not None and last.bindings[-1][0].group == group:
                last.bindings.append(shown)
                continue
            name = group.description if group is not None else chosen[binding.id or ""]
            entries.append(_Shown([shown], name or binding.description))
        return entries

    def _key(
        self, binding: Binding, name: str, enabled: bool, tooltip: str, *, grouped: bool = False
    ) -> FooterKey:
        key = FooterKey(
            binding.key,
            self.app.get_key_display(binding),
            name,
            binding.action,
            disabled=not enabled,
            tooltip=tooltip or binding.description,
            classes="-grouped" if grouped else "",
        )
        return key.data_bind(compact=Footer.compact)

    def _width(self, entry: _Shown) -> int:
        """The cells an entry takes in the compact bar, with the space after it: each key and a
        space, then the name and a space."""
        keys = sum(cell_len(self.app.get_key_display(b)) + 1 for b, _, _ in entry.bindings)
        return keys + cell_len(entry.name) + 1
