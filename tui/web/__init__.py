"""`slotbook-web`: the terminal app served to browsers, one app process per visitor, all of them
talking to one slotbook server (see gateway.py)."""
