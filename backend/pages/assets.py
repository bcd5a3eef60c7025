"""The pages' stylesheet and script, served by the server itself (`/assets/<name>`): no page
asks another host for anything."""

from __future__ import annotations

from importlib.resources import files

from aiohttp import web

from backend.api.operation import Operation

_TYPES = {"pages.css": "text/css", "book.js": "text/javascript"}
_BODIES = {name: (files("backend.pages") / "static" / name).read_bytes() for name in _TYPES}


async def page_asset(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in _BODIES:
        raise web.HTTPNotFound()
    return web.Response(
        body=_BODIES[name],
        content_type=_TYPES[name],
        charset="utf-8",
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


OPERATIONS = [
    Operation(
        "GET",
        "/assets/{name}",
        page_asset,
        summary="The stylesheet and script of the server's pages",
        tag="pages",
        description="`pages.css` and `book.js`: everything the pages load, from this server.",
        path_params={"name": str},
        media_type="text/css",
        answers={200: (None, "The file")},
        problems={404: "No such file"},
        public=True,
    ),
]
