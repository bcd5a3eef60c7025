"""Signing deliveries by the Standard Webhooks scheme, with its reference library: the receiver
verifies `webhook-signature` (`v1,<base64 HMAC-SHA256 of id.timestamp.body>`) with the same."""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105 - the scheme's prefix, not a secret


def new_secret() -> str:
    """A signing secret: 32 random bytes, base64, with the scheme's `whsec_` prefix."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def message_id(webhook_id: str, first_seq: int, last_seq: int) -> str:
    """The `webhook-id` of a delivery of the endpoint's changes from `first_seq` to `last_seq`:
    the same on every retry of it, so a receiver can drop a duplicate. `msg_<endpoint>_<seq>`
    for one change, `msg_<endpoint>_<first>_<last>` for several."""
    if first_seq == last_seq:
        return f"msg_{webhook_id}_{first_seq}"
    return f"msg_{webhook_id}_{first_seq}_{last_seq}"


def signed_headers(secret: str, msg_id: str, at: float, body: bytes) -> dict[str, str]:
    """The three headers of a delivery of `body`, sent at `at` (epoch seconds)."""
    timestamp = datetime.fromtimestamp(int(at), UTC)
    signature = Webhook(secret).sign(msg_id, timestamp, body.decode())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at)),
        "webhook-signature": signature,
        "content-type": "application/json",
    }
