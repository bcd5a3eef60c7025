"""What every page shares: its headers, its templates, the refusal it answers with, and the
forms it reads.

A page is HTML for a person, so a refusal is a page too (a status, a title and what happened, in
words), never a problem document or a traceback. Nothing comes from another host: the styles and
the one script are the server's own (`/assets/...`), and the Content-Security-Policy says so."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

import jinja2
import msgspec
from aiohttp import web

from backend.api.context import AppContext
from backend.api.operation import Handler, convert
from backend.gate.problems import PROBLEM_TYPES, ProblemError

S = TypeVar("S", bound=msgspec.Struct)

HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; script-src 'self';"
    " img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none';"
    " frame-ancestors 'none'",
    # Not `no-referrer`: under it a browser sends `Origin: null` with the page's own forms, and
    # the origin check below could not tell them from another site's. `same-origin` still sends
    # the address (and any secret in it) to no other host, and the pages link to none.
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}
_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("backend.pages", "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)


class Refusal(Exception):
    """A request a page refuses, shown as a page: a status, a title and what happened."""

    def __init__(
        self,
        status: int,
        title: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        back: str | None = None,
        back_label: str = "Back",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message
        self.headers = dict(headers or {})
        self.back = back
        self.back_label = back_label


def page(
    template: str,
    status: int,
    title: str,
    headers: Mapping[str, str] | None = None,
    **values: Any,
) -> web.Response:
    body = _TEMPLATES.get_template(template).render(title=title, **values)
    return web.Response(
        text=body,
        status=status,
        content_type="text/html",
        charset="utf-8",
        headers={**HEADERS, **(headers or {})},
    )


def see_other(location: str) -> web.Response:
    """Post/Redirect/Get: the page that says what was done (a reload repeats nothing)."""
    return web.Response(status=303, headers={**HEADERS, "Location": location})


def as_pages(handler: Handler) -> Handler:
    """The handler, its refusals answered as pages (never a problem document or a traceback)."""

    @functools.wraps(handler)
    async def answered_as_page(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except Refusal as refusal:
            return page(
                "refusal.html",
                refusal.status,
                refusal.title,
                refusal.headers,
                message=refusal.message,
                refused=True,
                back=refusal.back,
                back_label=refusal.back_label,
            )
        except ProblemError as problem:
            return page(
                "refusal.html",
                PROBLEM_TYPES[problem.slug].status,
                "This request was not understood",
                message=f"{problem.detail}. Nothing was changed.",
                refused=True,
            )

    return answered_as_page


SAME_SITE = frozenset({"same-origin", "none"})
"""`Sec-Fetch-Site` values of a request the page's own forms (or the user) made; `same-site` is a
neighbouring host, which may be someone else's."""


def refuse_cross_site(request: web.Request, ctx: AppContext, *, why: str) -> None:
    """A form sent by another site: its browser says so (`Sec-Fetch-Site`), or its `Origin` is
    neither the server's public address nor the address this request was made to. `why` says,
    after "nothing was changed", where the person should go instead."""
    fetched_from = request.headers.get("Sec-Fetch-Site", "none").lower()
    origin = request.headers.get("Origin")
    own = {_origin(ctx.public_base()), f"{request.scheme}://{request.host}".lower()}
    if fetched_from not in SAME_SITE or (origin is not None and origin.lower() not in own):
        raise Refusal(
            403,
            "Refused: sent from another site",
            f"This request came from another web site, not from this server's own page, so"
            f" nothing was changed. {why}",
        )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


async def form_fields(request: web.Request) -> dict[str, str]:
    """A form's fields, blanks around each value left out (as people type them); the page that
    says what is wrong for a body that is no form."""
    try:
        fields = await request.post()
    except ValueError:  # a multipart type without its boundary, say
        raise Refusal(
            400, "This request was not understood", "The form could not be read."
        ) from None
    data = {name: value.strip() for name, value in fields.items() if isinstance(value, str)}
    if len(data) != len(fields):
        raise Refusal(400, "This request was not understood", "A form sends no files.")
    return data


async def read_form(request: web.Request, kind: type[S]) -> S:
    """A form's fields as the Struct, or the page that says what is wrong."""
    return convert(await form_fields(request), kind, from_text=True)
