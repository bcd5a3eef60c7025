"""Storage: the Store protocol of whole business operations, and its implementations."""

from backend.store.base import (
    CancelResult,
    ConfirmResult,
    OpenSlotsCursor,
    ProviderSummary,
    RemoveResult,
    ReserveResult,
    Store,
    SubmitResult,
)

__all__ = [
    "CancelResult",
    "ConfirmResult",
    "OpenSlotsCursor",
    "ProviderSummary",
    "RemoveResult",
    "ReserveResult",
    "Store",
    "SubmitResult",
]
