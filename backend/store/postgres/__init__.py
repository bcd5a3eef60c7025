"""The PostgreSQL store: the pool and its operations, the schema's migrations, weekly schedules,
the sequencer that numbers changes outside the write transactions, and the listener that hears
other processes' commits."""
