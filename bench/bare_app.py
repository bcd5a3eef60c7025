"""The ceiling: a bare aiohttp app answering a fixed small JSON body, run beside the server so that
every scenario can be given as a ratio to what aiohttp itself manages on this machine."""

from __future__ import annotations

import sys

from aiohttp import web

from backend.runtime.event_loop import loop_factory

BODY = b'{"availableTimeSlots":[],"nextCursor":null}\n'


async def answer(request: web.Request) -> web.Response:
    return web.Response(body=BODY, content_type="application/json")


def main() -> None:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    # The same event loop as the server, so that the ratio compares like with like.
    web.run_app(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        print=None,
        access_log=None,
        loop=loop_factory()(),
    )


if __name__ == "__main__":
    main()
