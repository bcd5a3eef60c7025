"""The command line: `slotbook-server serve` (and its worker processes), `token`, `backup` and
`check`."""
