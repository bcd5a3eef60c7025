"""A provider's own calendars: their events read over HTTP (an iCalendar URL, or a CalDAV
calendar collection's time-range query) and bookings written back into a CalDAV collection, every
connection through the outbound guard, every failure said in words."""
