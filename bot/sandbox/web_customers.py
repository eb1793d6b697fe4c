"""Simulated customers on the mobile web survey page (the demo): each opens their link over plain HTTP with a
browser's cookies, reads the page's HTML, and taps: 开始 (a few 稍后 or 退订), then an answer to each question
until the closing words, as a person would, POST-redirect-GET included."""

from __future__ import annotations

import asyncio
import html
import random
import re
from collections.abc import Callable, Sequence

import aiohttp

_OPTION = re.compile(r'<button class="option" name="choice" value="(\d+)">([^<]*)</button>')
_CHECK = re.compile(r'<input type="checkbox" name="choice" value="(\d+)"[^>]*> ([^<]*)</label>')
_RATING = re.compile(r'name="rating" value="(-?\d+)"')
_SLOT = re.compile(r'name="slot" value="(\d+)"')

Pick = Callable[[random.Random, list[str]], str]


def _field(page: str, name: str) -> str | None:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    return html.unescape(found.group(1)) if found else None


def _answer(page: str, rng: random.Random, pick: Pick, remarks: Sequence[str]) -> list[tuple[str, str]]:
    if options := _OPTION.findall(page):
        labels = [html.unescape(label) for _, label in options]
        chosen = pick(rng, labels)
        return [("choice", options[labels.index(chosen)][0])]
    if checks := _CHECK.findall(page):
        return [("choice", value) for value, _ in rng.sample(checks, k=min(len(checks), rng.choice((1, 1, 2))))]
    if ratings := _RATING.findall(page):
        top = ratings[-1]
        return [("rating", rng.choice([top, top, ratings[-2], ratings[0]]))]
    if slots := _SLOT.findall(page):
        return [("slot", slots[0])]
    return [("text", rng.choice(list(remarks)))]


async def one_customer(
    base: str, token: str, rng: random.Random, pick: Pick, remarks: Sequence[str], opt_out_share: float = 0.05
) -> str:
    """One person on their link; what became of it: answered / later / opted_out / stuck / refused (the server
    turned a request away)."""
    try:
        return await _one_visit(base, token, rng, pick, remarks, opt_out_share)
    except aiohttp.ClientResponseError:
        return "refused"


async def _one_visit(
    base: str, token: str, rng: random.Random, pick: Pick, remarks: Sequence[str], opt_out_share: float
) -> str:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        url = f"{base}/s/{token}"

        async def post(page: str, fields: list[tuple[str, str]]) -> str:
            data = [("csrf", _field(page, "csrf") or "")]
            step = _field(page, "step")
            data += [("do", "answer"), ("step", step)] if step is not None else []
            async with session.post(url, data=data + fields) as response:
                response.raise_for_status()  # a refused request (429, 403 …) is not an answer
                return await response.text()

        async with session.get(url) as response:
            response.raise_for_status()
            page = await response.text()
        roll = rng.random()
        if roll < opt_out_share:
            await post(page, [("do", "optout")])
            return "opted_out"
        if roll < opt_out_share + 0.05:
            await post(page, [("do", "later")])
            return "later"
        page = await post(page, [("do", "start")])
        for _ in range(30):
            if _field(page, "step") is None:
                return "answered" if 'class="closing"' in page else "stuck"
            page = await post(page, _answer(page, rng, pick, remarks))
        return "stuck"


async def customers_on_the_web(
    base: str, tokens: Sequence[str], rng: random.Random, pick: Pick, remarks: Sequence[str]
) -> dict[str, int]:
    """Everyone opens their link at once; how many ended each way."""
    seeds = [rng.random() for _ in tokens]
    ends = await asyncio.gather(
        *(one_customer(base, t, random.Random(s), pick, remarks) for t, s in zip(tokens, seeds, strict=True))
    )
    counts: dict[str, int] = {}
    for end in ends:
        counts[end] = counts.get(end, 0) + 1
    return counts
