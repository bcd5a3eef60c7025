"""Where the server may connect out to (webhook receivers; any later feature that fetches a URL):
public addresses only, judged on the address and not on how it is written, when a URL is given and
again when each connection is made."""
