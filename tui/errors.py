"""What can go wrong talking to a slotbook server, as exceptions the screens can act on.

Each carries the server's problem document when there is one; `advice` says what the user can do.
"""

from __future__ import annotations

from shared.wire import FieldError, Problem


class Unreachable(Exception):
    """The server did not answer: it is down, the address is wrong, or the network is."""

    advice = "Check the server is running and the address is right; slotbook keeps retrying."


class ApiError(Exception):
    """The server answered with a problem document."""

    advice = "See the message for what to change."

    def __init__(self, status: int, problem: Problem | None, fallback: str = "") -> None:
        detail = problem.detail if problem else fallback or f"HTTP {status}"
        super().__init__(detail)
        self.status = status
        self.problem = problem
        self.detail = detail

    @property
    def slug(self) -> str:
        return self.problem.type.rsplit("/", 1)[-1] if self.problem else ""

    @property
    def errors(self) -> list[FieldError]:
        if self.problem is None or not isinstance(self.problem.errors, list):
            return []
        return self.problem.errors


class Invalid(ApiError):
    """400 or 422: the request was malformed or broke a rule."""


class Unauthorized(ApiError):
    """401: no token, or one the server does not know or has revoked."""

    advice = "Check the token (--token, SLOTBOOK_TOKEN or the config file)."


class Forbidden(ApiError):
    """403: the token may not do this."""

    advice = "Use a token of the right role, or ask an admin."


class NotFound(ApiError):
    """404: the slot (or token) does not exist, or no longer does."""

    advice = "Reload the week (r): it may have been removed."


class Conflict(ApiError):
    """409: someone else got there first, or a limit is reached."""

    advice = "Pick another slot."


class Gone(ApiError):
    """410: a hold lapsed, or the feed forgot what came after our position."""

    advice = "Reserve it again if it is still open."


class RateLimited(ApiError):
    """429: too many requests; `retry_after` says how long to wait."""

    advice = "Wait a moment and try again."

    def __init__(self, status: int, problem: Problem | None, retry_after: float) -> None:
        super().__init__(status, problem)
        self.retry_after = retry_after


class ServerFailed(ApiError):
    """5xx: the server failed; it is a bug there, not something the user did."""

    advice = "Try again; if it keeps failing, the server's log says why."


_BY_STATUS: dict[int, type[ApiError]] = {
    400: Invalid,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Gone,
    413: Invalid,
    415: Invalid,
    422: Invalid,
}


def error_for(status: int, problem: Problem | None, retry_after: float, text: str) -> ApiError:
    if status == 429:
        return RateLimited(status, problem, retry_after)
    kind = _BY_STATUS.get(status, ServerFailed if status >= 500 else ApiError)
    return kind(status, problem, text[:200])
