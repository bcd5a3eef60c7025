"""The wire contract shared by the slotbook server and the terminal app.

Nothing in this package imports aiohttp or Textual: it holds the msgspec Structs that travel over
HTTP, the parsing and formatting of times, and the arithmetic of the slot grid.
"""
