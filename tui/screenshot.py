"""The palette's Screenshot: an SVG picture of the screen, saved where it can be found.

Textual's own saves into the Downloads folder and, where there is none (a server, a fresh
account), fails without saying why. slotbook saves into Downloads when that folder exists, else
into `screenshots` in its data folder (made if missing), and says the file's path, or why it
could not be written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from platformdirs import user_downloads_path
from textual.app import App

FOLDER_NAME = "screenshots"
"""The folder in the data folder that takes screenshots when there is no Downloads folder."""


def screenshot_folder(downloads: Path, data_dir: Path | None) -> Path:
    """Where a screenshot goes: `downloads` if it is a folder, else the data folder's
    `screenshots` (made if missing; the working folder's when there is no data folder). An
    OSError when it cannot be made."""
    if downloads.is_dir():
        return downloads
    folder = (data_dir if data_dir is not None else Path.cwd()) / FOLDER_NAME
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def take_screenshot(app: App[Any], data_dir: Path | None) -> None:
    """Save an SVG of the app's screen and say where, or why it could not be saved."""
    try:
        folder = screenshot_folder(user_downloads_path(), data_dir)
        saved = app.save_screenshot(path=str(folder))
    except OSError as error:
        where = f" ({error.filename})" if error.filename else ""
        app.notify(
            f"Not saved: {error.strerror or error}{where}.",
            title="Screenshot",
            severity="error",
            markup=False,
        )
        return
    app.notify(f"Saved to {saved}", title="Screenshot", markup=False)
