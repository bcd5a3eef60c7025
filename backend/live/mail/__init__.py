"""E-mail: the letters slotbook writes (confirmations, changes, cancellations, reminders, each a
calendar invitation where it has one) and the transports that deliver them."""
