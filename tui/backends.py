"""Where the app's server comes from: one named on the command line, or its own child process."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from tui.identities import IdentityStore

ENV_SERVER_LABEL = "SLOTBOOK_SERVER_LABEL"
"""Set by slotbook-web for each visitor's app: what to show instead of the server's address (an
internal one; the visitor's is slotbook-web's own)."""


@dataclass
class Connection:
    """How to reach the server, and how to get a token for it."""

    base_url: str
    label: str
    """What the status line shows for the server."""
    token: str | None = None
    """A fixed token (a remote server: the user brought it)."""
    admin_token: str | None = None
    """The app's own admin token (its embedded server): it makes identity tokens with it."""
    identities: IdentityStore | None = None


class Backend(Protocol):
    async def start(self) -> Connection: ...

    async def recover(self) -> str | None:
        """After losing the server: bring it back if we can; its (perhaps new) URL, or None."""
        ...

    async def stop(self) -> None: ...


class RemoteBackend:
    """A server somebody else runs: we only talk to it."""

    def __init__(self, url: str, token: str | None, label: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.label = label or self.url

    async def start(self) -> Connection:
        return Connection(base_url=self.url, label=self.label, token=self.token)

    async def recover(self) -> str | None:
        return None

    async def stop(self) -> None:
        return None


class EmbeddedBackend:
    """Our own server, a child process over a database in the data directory."""

    def __init__(self, db: Path) -> None:
        from tui.embedded import EmbeddedServer

        self.db = db
        self.server = EmbeddedServer(db)

    async def launch(self) -> None:
        """Start the server process now; `start` waits for it to be ready."""
        await self.server.launch()

    async def start(self) -> Connection:
        from tui.embedded import admin_token

        url = await self.server.start()
        return Connection(
            base_url=url,
            label=f"embedded · {self.db}",
            admin_token=await admin_token(self.db),
            identities=IdentityStore(self.db.parent),
        )

    async def recover(self) -> str | None:
        if self.server.running:
            return None
        return await self.server.restart()

    async def stop(self) -> None:
        await self.server.stop()
