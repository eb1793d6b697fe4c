"""The HTTP server `huifang run` starts for web and provider channels, over real HTTP."""

from __future__ import annotations

import aiohttp
from aiohttp import web

from bot.webserver import bound_port, build_web_app, start_web_server


def _echo(app: web.Application) -> None:
    async def echo(request: web.Request) -> web.Response:
        return web.Response(text=(await request.read()).decode())

    app.router.add_post("/echo", echo)


async def test_the_server_answers_its_health_check_and_a_channels_routes_with_security_headers() -> None:
    runner = await start_web_server(build_web_app([_echo]), "127.0.0.1", 0)
    base = f"http://127.0.0.1:{bound_port(runner)}"
    try:
        async with aiohttp.ClientSession() as client:
            async with client.get(f"{base}/healthz") as health:
                assert health.status == 200 and await health.text() == "ok"
                assert "default-src 'none'" in health.headers["Content-Security-Policy"]
                assert health.headers["X-Frame-Options"] == "DENY" and health.headers["Cache-Control"] == "no-store"
            async with client.post(f"{base}/echo", data="你好") as echo:
                assert await echo.text() == "你好"
            async with client.get(f"{base}/nothing-here") as missing:
                assert missing.status == 404 and missing.headers["Referrer-Policy"] == "no-referrer"
            async with client.post(f"{base}/echo", data="x" * 100_000) as huge:
                assert huge.status == 413
    finally:
        await runner.cleanup()
