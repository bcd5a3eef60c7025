"""The booking rules, free of I/O and of the clock (both stores ask these planners, so the two
cannot drift): what a window, a reserve, a confirm, a cancel or a move means; appointments of
several slots; weekly schedules; which cells slots occupy; the calendar ledger."""
