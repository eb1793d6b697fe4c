"""The voice channel wired to the fake provider, in one process: for e2e tests, the bench and the demo.

``async with voice_rig(container) as rig`` starts the fake TwiML provider, huifang's HTTP server with the
voice webhooks (the same ``bot.webserver`` application ``huifang run`` serves) on a free port, and a dialler
pointed at the fake's REST API. ``await rig.dial()`` runs one dialler tick (the scheduler's job) and waits
for every call placed to end.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bot.app import Container
from bot.sandbox.fake_voice import FakeCall, FakeVoiceProvider
from bot.voice.twiml import TwimlConfig, TwimlDialler, mount
from bot.webserver import build_web_app, start_web_server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class VoiceRig:
    provider: FakeVoiceProvider
    dialler: TwimlDialler
    config: TwimlConfig

    async def dial(self, timeout: float = 30.0) -> list[FakeCall]:
        """One dialler tick; the calls it placed, once they all ended."""
        before = len(self.provider.calls)
        placed = await self.dialler.tick()
        calls = await self.provider.wait_calls(before + placed, timeout)
        return calls[before:]


@asynccontextmanager
async def voice_rig(
    container: Container, *, calls_per_second: float = 50.0, port: int | None = None, **fake: float
) -> AsyncIterator[VoiceRig]:
    provider = FakeVoiceProvider(**fake)  # type: ignore[arg-type]
    await provider.start()
    port = port or free_port()
    config = TwimlConfig(
        public_url=f"http://127.0.0.1:{port}",
        auth_token=provider.auth_token,
        account_sid=provider.account_sid,
        api_url=provider.base_url,
        caller_id="+867520000000",
        calls_per_second=calls_per_second,
    )
    desk = container.voice_desk()
    runner = await start_web_server(build_web_app([mount(desk, config)]), "127.0.0.1", port)
    dialler = TwimlDialler(desk, config)
    try:
        yield VoiceRig(provider, dialler, config)
    finally:
        await provider.stop()
        await dialler.close()
        await runner.cleanup()
