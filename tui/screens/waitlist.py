"""Join the waitlist (W on a client's week, or the palette's Join the waitlist): the window of
time to wait for, prefilled with the day under the cursor, and the length or appointment type as
the week holds them. Once the server has taken it, the form says the client's place in line in
words; what the server refuses is said in words too, beside the field it names or under the
form."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Button, Input, Select, Static

from shared.service_wire import Service
from shared.waitlist_wire import WaitlistEntry
from tui import waitlist_calls, waitlist_words
from tui.screens.field_form import FieldForm, FormField
from tui.session import Session

SERVICE = "service:"
MINUTES = "minutes:"
"""How the length field's options name their value: an appointment type, or a length."""


@dataclass(frozen=True)
class Wanted:
    """What the form opens with: whose line, the window, the lengths and types to choose from,
    and the one chosen on the week (a type's id, else the length)."""

    provider_id: str
    provider_name: str
    day: date
    start: float
    end: float
    services: tuple[Service, ...]
    minutes: int
    service_id: str | None = None
    free_now: bool = False
    """The week shows a free start in the window now: holding it beats waiting."""


class JoinWaitlistForm(FieldForm[WaitlistEntry]):
    """From, To and the length (or type); answers the entry once joined, else None."""

    HEADING = "Join the waitlist"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Join", id="waitlist.join"),
        Binding("escape", "leave", "Cancel", key_display="esc", id="waitlist.cancel"),
    ]
    PHONE_KEYS: ClassVar[dict[str, str]] = {"waitlist.join": "Join", "waitlist.cancel": "Cancel"}
    usual_info = "Tab goes to the next field  ·  Enter or ctrl+s joins  ·  Esc cancels"
    SENDING = "Joining…"
    NOT_DONE = "Not joined"
    FIELD_ALIASES: ClassVar[dict[str, str]] = {
        "minutes": "length",
        "serviceId": "length",
    }

    DEFAULT_CSS = """
    JoinWaitlistForm #placed {
        display: none; height: auto; margin-bottom: 1; padding: 0 1;
        color: $text-success; background: $success-muted; text-style: bold;
    }
    JoinWaitlistForm #placed.-shown { display: block; }
    JoinWaitlistForm #back { display: none; }
    JoinWaitlistForm #back.-shown { display: block; }
    """

    def __init__(self, session: Session, wanted: Wanted) -> None:
        super().__init__(session, wanted.provider_id)
        self.wanted = wanted
        self.joined: WaitlistEntry | None = None
        lengths = range(
            round(session.rules.slot_minutes),
            session.longest_minutes + 1,
            round(session.rules.slot_minutes),
        )
        self._fields = (
            FormField("from", "From", waitlist_words.MOMENT, hint="the earliest start you can"),
            FormField("to", "To", waitlist_words.MOMENT, hint="when it must be over by"),
            FormField(
                "length",
                "Length",
                choices=tuple(
                    [
                        (f"{s.name} ({s.minutes} min)", f"{SERVICE}{s.service_id}")
                        for s in wanted.services
                    ]
                    + [(f"{m} min", f"{MINUTES}{m}") for m in lengths]
                ),
            ),
        )

    def fields(self) -> tuple[FormField, ...]:
        return self._fields

    def initial(self) -> dict[str, str]:
        wanted = self.wanted
        chosen = (
            f"{SERVICE}{wanted.service_id}" if wanted.service_id else f"{MINUTES}{wanted.minutes}"
        )
        return {
            "from": waitlist_words.moment_text(self.session, wanted.start),
            "to": waitlist_words.moment_text(self.session, wanted.end),
            "length": chosen,
        }

    def compose_more(self) -> ComposeResult:
        yield Static("", id="placed", markup=False)  # the provider's name, a type's
        yield Button("Back to the week (esc)", id="back", compact=True)

    def on_mount(self) -> None:  # as well as FieldForm's
        wanted = self.wanted
        self.query_one("#heading", Static).update(f"Join the waitlist · {wanted.provider_name}")
        explain = (
            "Wait in line for time with them: when time frees up between From and To where your"
            " appointment fits (a cancellation, a hold that lapses, new hours), the first in line"
            f" it suits gets it held for them ({self.session.rules.offer_minutes} minutes at most)"
            " and is asked to confirm it. Nobody else can take it meanwhile."
        )
        if wanted.free_now:
            explain += " There is free time that day now: Esc, then Enter on it holds it at once."
        self.query_one("#fields").mount(Static(explain, id="explain", markup=False), before=0)

    def _moments(self, values: dict[str, str]) -> tuple[float | None, float | None]:
        start = waitlist_words.read_moment(self.session, values["from"], self.wanted.day)
        day = self.session.local(start).date() if start is not None else self.wanted.day
        end = waitlist_words.read_moment(self.session, values["to"], day)
        return start, end

    def check(self, values: dict[str, str]) -> dict[str, str]:
        start, end = self._moments(values)
        wrong: dict[str, str] = {}
        if start is None:
            wrong["from"] = f"is not a time: {waitlist_words.MOMENT_HINT}"
        if end is None:
            wrong["to"] = f"is not a time: {waitlist_words.MOMENT_HINT}"
        elif start is not None and end <= start:
            wrong["to"] = "must come after From"
        return wrong

    async def submit(self, values: dict[str, str]) -> WaitlistEntry:
        start, end = self._moments(values)
        assert start is not None  # checked
        assert end is not None
        chosen = values["length"]
        service_id = chosen.removeprefix(SERVICE) if chosen.startswith(SERVICE) else None
        minutes = int(chosen.removeprefix(MINUTES)) if service_id is None else None
        return await waitlist_calls.join(
            self.session.client,
            self.wanted.provider_id,
            start,
            end,
            minutes=minutes,
            service_id=service_id,
        )

    def done(self, answer: WaitlistEntry) -> None:
        """Joined: say the place in line, and leave the fields as they were sent."""
        self.joined = answer
        placed = self.query_one("#placed", Static)
        placed.update(waitlist_words.joined(self.session, answer, self.wanted.provider_name))
        placed.add_class("-shown")
        for field in self.query(".field Input, .field Select"):
            assert isinstance(field, Input | Select)
            field.disabled = True
        back = self.query_one("#back", Button)
        back.add_class("-shown")
        back.focus()
        self.refresh_bindings()
        self.set_info("Enter or Esc: back to the week  ·  m lists your places in line")

    def action_save(self) -> None:
        if self.joined is None:
            super().action_save()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Once joined, nothing is left to send."""
        return not (action == "save" and self.joined is not None)

    @on(Button.Pressed, "#back")
    def action_leave(self) -> None:
        self.dismiss(self.joined)
