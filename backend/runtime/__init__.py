"""The ground floor: what any part of the server may lean on and that knows nothing of booking.
The injected clock, the event loop, background tasks, the speed levers, the metrics registry, the
running version, and the settings (every flag and its SLOTBOOK_* variable)."""
