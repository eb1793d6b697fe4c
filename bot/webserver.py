"""The one HTTP server of `huifang run`: the web survey page and the voice and SMS providers' callbacks.

Each channel adapter that needs HTTP contributes a ``Mount``: a function that adds its routes to the aiohttp
application (`bot/cli/run.py` collects the mounts of the channels set up here). This module adds what every
route shares: a health check, a small request-size cap, security headers on every response, and no access
log (paths carry link tokens and provider call ids, which must not reach the logs).

aiohttp is already the bot's HTTP client; its server is used rather than a second framework.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web

Mount = Callable[[web.Application], None]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

MAX_REQUEST_BYTES = 64 * 1024  # forms and provider callbacks are small; anything bigger is refused (413)

# Everything huifang serves is its own: no third-party scripts, styles, fonts or frames.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@web.middleware
async def _security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:  # redirects and errors carry the headers too
        exc.headers.update({k: v for k, v in SECURITY_HEADERS.items() if k not in exc.headers})
        raise
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


async def _health(request: web.Request) -> web.Response:
    return web.Response(text="ok")


def build_web_app(mounts: Sequence[Mount]) -> web.Application:
    """The application with every channel's routes mounted, plus ``GET /healthz``."""
    app = web.Application(middlewares=[_security_headers], client_max_size=MAX_REQUEST_BYTES)
    app.router.add_get("/healthz", _health)
    for mount in mounts:
        mount(app)
    return app


async def start_web_server(app: web.Application, listen: str, port: int) -> web.AppRunner:
    """Serve ``app`` on ``listen:port`` (port 0: any free port, see ``bound_port``); the caller cleans up the
    returned runner. OSError if the address cannot be bound."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, listen, port)
    try:
        await site.start()
    except OSError:
        await runner.cleanup()
        raise
    return runner


def bound_port(runner: web.AppRunner) -> int:
    """The port the runner listens on (useful after asking for port 0)."""
    return int(runner.addresses[0][1])
