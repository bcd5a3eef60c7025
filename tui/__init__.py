"""The slotbook terminal app (a Textual app talking to the server over HTTP)."""
