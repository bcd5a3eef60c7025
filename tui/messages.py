"""Messages the app posts to its screens about the change feed."""

from __future__ import annotations

from textual.message import Message

from shared.wire import Change


class FeedChanged(Message):
    """A change arrived from the server (someone, perhaps us, changed a slot)."""

    def __init__(self, change: Change) -> None:
        super().__init__()
        self.change = change


class FeedReloadNeeded(Message):
    """The feed could not resume where it was: reload what is shown."""

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


class FeedResumed(Message):
    """The feed is connected (again): the server answers, so what failed to load may now."""
