"""Why a visitor's session ended, as the WebSocket's close code and reason: the page shows the
reason as it is (templates/index.html), so each sentence is written for the visitor."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import WSCloseCode


@dataclass(frozen=True)
class Ending:
    code: int
    reason: str
    """At most 123 bytes: what a close frame carries."""


SIGNED_OUT = Ending(4000, "You signed out or quit the app.")
APP_FAILED = Ending(
    4002, "The app stopped with an error. Start again; if it happens again, tell who runs slotbook."
)
SHUT_DOWN = Ending(
    WSCloseCode.GOING_AWAY, "slotbook stopped, for a restart perhaps: start again in a minute."
)


def idle(seconds: float) -> Ending:
    minutes = seconds / 60
    unit = "minute" if minutes == 1 else "minutes"
    return Ending(4001, f"It was idle: no key or click for {minutes:.10g} {unit}.")
