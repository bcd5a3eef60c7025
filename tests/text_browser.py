"""What a text browser shows of a page: Debian's w3m (`w3m -dump`), which reads the HTML without
styles or script, in document order, as a screen reader would."""

from __future__ import annotations

import asyncio
import subprocess

COLUMNS = 80


async def w3m_dump(html: bytes, columns: int = COLUMNS) -> str:
    """The page as w3m shows it, `columns` wide."""
    dumped = await asyncio.to_thread(
        subprocess.run,
        ["w3m", "-dump", "-T", "text/html", "-cols", str(columns)],
        input=html,
        capture_output=True,
        check=True,
        timeout=60,
    )
    return dumped.stdout.decode()
