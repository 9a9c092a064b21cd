"""The live view in a real headless browser: Debian's chromium driven by Playwright's Python client.

Skips only when chromium (or Playwright) is missing outside CI; under CI (CI=true) that is a failure.
Saves a screenshot to test-artifacts/streamz.png; docs/streamz.png (the README's) is a copy of one.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import pytest

from tests.extensions.streamz.streams import batch_of, known_streams, stream

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[3]
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
WAIT_MS = 10_000  # every browser wait; the page polls every 1.5 s


def _need(ok: bool, why: str) -> None:
    if not ok:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{why}; CI must install it (apt-get install chromium; pip install playwright)")
        pytest.skip(why)


@pytest.fixture
async def browser():
    _need(os.path.exists(CHROMIUM), f"no chromium at {CHROMIUM}")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        _need(False, "the playwright package is not installed")
    async with async_playwright() as playwright:
        # launch() gives the browser a fresh temporary profile (user data dir) of its own
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS,
                                                    timeout=60_000)
        try:
            yield launched
        finally:
            await launched.close()


async def rows(page) -> list[tuple[str, str, str]]:
    cells = await page.eval_on_selector_all(
        "#streams tr.stream", "rows => rows.map(r => ['route', 'model', 'outcome']"
                              ".map(c => r.querySelector('.' + c).textContent))")
    return [tuple(row) for row in cells]


async def wait_rows(page, count: int) -> None:
    from playwright.async_api import expect  # the page's policy forbids eval, which wait_for_function's string needs

    await expect(page.locator("#streams tr.stream")).to_have_count(count, timeout=WAIT_MS)


async def test_the_live_view_shows_streams_stalls_and_anomalies_and_refreshes(streamz, browser):
    async with asyncio.timeout(120):
        await streamz.feed(known_streams())
        page = await browser.new_page(viewport={"width": 1400, "height": 560})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
        await page.goto(f"{streamz.url}/streamz", timeout=WAIT_MS)
        await wait_rows(page, 3)
        assert await rows(page) == [("/chat", "claude-3-5-sonnet", "aborted"), ("/summarize", "gpt-4o", "completed"),
                                    ("/chat", "gpt-4o-mini", "completed")]

        aborted, stalled, normal = await page.query_selector_all("#streams tr.stream")
        assert await stalled.eval_on_selector_all("svg .stall", "marks => marks.length") == 1
        assert await normal.eval_on_selector_all("svg .stall", "marks => marks.length") == 0
        assert await normal.eval_on_selector_all("svg .chunk", "ticks => ticks.length") == 20
        assert "3.000 s" in await stalled.eval_on_selector("svg .stall title", "t => t.textContent")
        assert await stalled.eval_on_selector(".stalls", "c => c.textContent") == "1 · 3.000 s"  # the record's
        assert await normal.eval_on_selector(".stalls", "c => c.textContent") == "0"
        assert "1 shown stalled" in await page.text_content("#status")
        assert await stalled.eval_on_selector(".anomaly", "b => b.textContent") == "stall"
        assert await aborted.eval_on_selector(".anomaly", "b => b.textContent") == "abort"
        assert "anomalous" in await stalled.get_attribute("class")
        assert "anomalous" not in await normal.get_attribute("class")

        await page.select_option("#route", "/summarize", timeout=WAIT_MS)
        await wait_rows(page, 1)
        assert await rows(page) == [("/summarize", "gpt-4o", "completed")]
        assert page.url.endswith("?route=%2Fsummarize")
        await page.select_option("#route", "", timeout=WAIT_MS)
        await page.select_option("#outcome", "aborted", timeout=WAIT_MS)
        await wait_rows(page, 1)
        assert await rows(page) == [("/chat", "claude-3-5-sonnet", "aborted")]
        await page.select_option("#outcome", "", timeout=WAIT_MS)
        await page.select_option("#anomaly", "stall", timeout=WAIT_MS)
        await wait_rows(page, 1)
        assert await rows(page) == [("/summarize", "gpt-4o", "completed")]
        await page.select_option("#anomaly", "", timeout=WAIT_MS)
        await wait_rows(page, 3)

        # A stream fed after the page loaded appears without a reload.
        await streamz.feed(batch_of(stream("/translate", "mistral-large", "truncated",
                                           [0.8 + 0.1 * i for i in range(12)]), anomalies={0: ["truncation"]}))
        await wait_rows(page, 4)
        assert (await rows(page))[0] == ("/translate", "mistral-large", "truncated")
        assert await page.evaluate("performance.getEntriesByType('navigation').length") == 1

        target = ROOT / "test-artifacts" / "streamz.png"  # docs/streamz.png, the README's, is a copy of one
        target.parent.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(target), full_page=True, timeout=WAIT_MS)
        assert errors == []


async def test_labels_are_shown_as_text_never_as_markup(streamz, browser):
    async with asyncio.timeout(60):
        hostile = '<img src=x onerror="window.pwned=1">'
        await streamz.feed(batch_of(stream(f"/r{hostile}", f"<b>{hostile}</b>", "completed", [0.1, 0.2])))
        page = await browser.new_page()
        await page.goto(f"{streamz.url}/streamz", timeout=WAIT_MS)
        await wait_rows(page, 1)
        assert await rows(page) == [(f"/r{hostile}", f"<b>{hostile}</b>", "completed")]
        assert await page.eval_on_selector_all("#streams img, #streams b, select img", "found => found.length") == 0
        assert await page.evaluate("window.pwned === undefined")
