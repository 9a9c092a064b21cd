"""The streamz HTTP routes: the page, its script and style, and the JSON the page polls.

    GET /streamz                      the page (also at /)
    GET /streamz/static/{app.js,style.css}
    GET /streamz/api/streams?route=&outcome=&anomaly=&limit=   newest first, see StreamBuffer.query

Everything is served from this package: no CDN. The files sit beside this module, where the package-data
patterns ship them. A strict Content-Security-Policy allows only same-origin scripts and styles, so a label
that slipped past the page's escaping still could not run.
"""

from __future__ import annotations

from importlib import resources

from aiohttp import web

from processor.extensions.streamz.buffer import StreamBuffer

_STATIC = {"index.html": "text/html", "app.js": "text/javascript", "style.css": "text/css"}
_SECURITY = {"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
                                        "connect-src 'self'; img-src 'self' data:",
             "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
DEFAULT_LIMIT = 50


def build_app(buffer: StreamBuffer) -> web.Application:
    files = {name: (resources.files(__package__) / name).read_bytes() for name in _STATIC}

    def serve(name: str) -> web.Response:
        return web.Response(body=files[name], content_type=_STATIC[name], charset="utf-8", headers=_SECURITY)

    async def page(_: web.Request) -> web.Response:
        return serve("index.html")

    async def static(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in _STATIC or name == "index.html":
            raise web.HTTPNotFound()
        return serve(name)

    async def streams(request: web.Request) -> web.Response:
        query = request.query
        try:
            limit = int(query.get("limit", DEFAULT_LIMIT))
        except ValueError:
            raise web.HTTPBadRequest(text=f'limit "{query["limit"]}" is not a whole number') from None
        body = buffer.query(route=query.get("route", ""), outcome=query.get("outcome", ""),
                            anomaly=query.get("anomaly", ""), limit=min(limit, buffer.max_streams))
        return web.json_response(body, headers={**_SECURITY, "Cache-Control": "no-store"})

    async def root(_: web.Request) -> web.Response:
        raise web.HTTPFound("/streamz")

    app = web.Application()
    app.router.add_get("/", root)
    app.router.add_get("/streamz", page)
    app.router.add_get("/streamz/", page)
    app.router.add_get("/streamz/static/{name}", static)
    app.router.add_get("/streamz/api/streams", streams)
    return app
