"""How the outboxes try again: the back-off and the day after which they give up. The webhook
sender (an endpoint's delivery) and the mail sender (one message) both follow it: the first retry
after a configured wait, each next one after twice the last, and no retry that would take one
thing's failures past GIVE_UP_SECONDS."""

from __future__ import annotations

GIVE_UP_SECONDS = 86_400.0
"""Retries of one delivery stop before they would span more than a day."""


def retry_delay(failures: int, first: float) -> float:
    """The wait before the next attempt, after this many failures in a row."""
    return first * 2.0 ** (failures - 1)


def waited(failures: int, first: float) -> float:
    """The back-off already waited out before the last of this many failures in a row."""
    return sum(retry_delay(n, first) for n in range(1, failures))


def gives_up(failures: int, first: float) -> bool:
    """Whether the next retry would take the failures of one delivery past GIVE_UP_SECONDS."""
    return waited(failures, first) + retry_delay(failures, first) > GIVE_UP_SECONDS
