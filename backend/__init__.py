"""The slotbook server: an aiohttp application over SQLite serving the availability API."""
