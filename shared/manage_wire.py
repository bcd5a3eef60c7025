"""The manage page's query and forms (GET and POST /manage/{secret}...): what a client's browser
sends from the page an e-mail's link opens. The page itself is HTML; these are its inputs."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import UNSET, Meta, UnsetType

from shared.wire import TimeSlotId, _Body

FormToken = Annotated[
    str,
    Meta(
        max_length=128,
        description="The hidden token of the page's form: proof that the request comes from"
        " the page as it was last shown, not from another site.",
    ),
]


class ManageQuery(_Body):
    """Which week of free starts the page offers, and what was just done (a banner)."""

    week: Annotated[
        int,
        Meta(ge=0, le=52, description="Weeks from this one: 0 is the week from now on."),
    ] = 0
    done: Literal["cancelled", "moved"] | UnsetType = UNSET


class ManageCancelForm(_Body):
    """Cancel the appointment."""

    token: FormToken


class ManageMoveForm(_Body):
    """Move the appointment to one of the free starts the page offered."""

    token: FormToken
    slot: TimeSlotId
    at: Annotated[int, Meta(ge=0, description="The start's time, in seconds since 1970 (UTC).")]
