"""The SQLite store: one writer thread that owns the write connection, readers on the event loop,
the schema's migrations, weekly schedules, and the invariants `slotbook-server check` reads."""
