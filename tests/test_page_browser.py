"""The digest page in a real browser: Debian's Chromium, headless, at desktop and phone widths,
driven over the DevTools protocol (aiohttp's websocket client; nothing downloaded, no network).

Chromium is installed by .ci/run; without it this test fails (it never skips). The screenshots go to
a temporary folder; PAPERBOY_UPDATE_SCREENSHOTS=1 writes them to docs/ (shown in the README).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import shutil
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.pages import render_digest
from tests.test_pages import zh_digest

DOCS = Path(__file__).parent.parent / "docs"
STEP_SECONDS = 15  # any one step: start, one command, one page load
FLAGS = [
    "--headless",
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--remote-debugging-port=0",
]

# What the page must do at a window `width` wide, measured in the page: nothing reaches past it (an
# element's box or a line of text) with the folds closed or open, every fold closed at first, the
# labels in the digest's language. A phone widens its layout viewport to fit content that overflows,
# so `width` is the width asked for, not window.innerWidth.
MEASURE = """(width => {
  const past = () => {
    const found = [...document.querySelectorAll("body *")]
      .filter(e => e.getBoundingClientRect().right > width + 0.5)
      .map(e => `${e.tagName.toLowerCase()}.${e.className}`);
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const range = document.createRange();
      range.selectNodeContents(walker.currentNode);
      if ([...range.getClientRects()].some(r => r.right > width + 0.5)) {
        found.push(`text: ${walker.currentNode.textContent.trim().slice(0, 60)}`);
      }
    }
    return {scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth, past: found};
  };
  const folds = [...document.querySelectorAll("details")];
  const closed = {...past(), open: folds.filter(d => d.open).length};
  folds.forEach(d => { d.open = true; });
  const opened = past();
  folds.forEach(d => { d.open = false; });
  const langOf = sel => [...document.querySelectorAll(sel)].map(e => e.closest("[lang]").lang);
  return {
    closed, opened, folds: folds.length,
    lang: document.documentElement.lang,
    labels: [...document.querySelectorAll("h2.section-label, article h3, summary")].map(e => e.textContent),
    titleLangs: langOf("article h2 a"), abstractLangs: langOf("details > p"), tldrLangs: langOf(".tldr"),
    fontSize: parseFloat(getComputedStyle(document.querySelector(".tldr")).fontSize),
  };
})(%d)"""

# The same page without its wrapping rule, folds open: proves the fixture's long URL and long word
# would overflow a phone, so the check above could fail.
WITHOUT_WRAPPING = """(() => {
  document.querySelectorAll("details").forEach(d => { d.open = true; });
  document.body.style.overflowWrap = "normal";
  return document.documentElement.scrollWidth;
})()"""


BACKGROUND = "getComputedStyle(document.body).backgroundColor"
SHOW_FIRST_ENTRY = """(() => {
  document.querySelector("#p1 details:last-of-type").open = true;
  document.querySelector("#p1").scrollIntoView();
})()"""


class DevTools:
    """A minimal Chrome DevTools Protocol client over one browser websocket (flattened sessions)."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws
        self._ids = itertools.count(1)
        self._events: list[dict[str, Any]] = []

    async def _next(self) -> dict[str, Any]:
        message = await asyncio.wait_for(self._ws.receive(), STEP_SECONDS)
        if message.type != aiohttp.WSMsgType.TEXT:
            raise AssertionError(f"Chromium's DevTools connection ended: {message.type.name}")
        return json.loads(message.data)

    async def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        call_id = next(self._ids)
        await self._ws.send_json(
            {"id": call_id, "method": method, "params": params} | ({"sessionId": session} if session else {})
        )
        while True:
            message = await self._next()
            if message.get("id") == call_id:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                return message["result"]
            self._events.append(message)

    async def event(self, method: str, session: str) -> dict[str, Any]:
        """Wait for an event (perhaps already received while waiting for a command's answer)."""
        while True:
            for seen in self._events:
                if seen.get("method") == method and seen.get("sessionId") == session:
                    self._events.remove(seen)
                    return seen
            self._events.append(await self._next())

    async def evaluate(self, session: str, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", session, expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"script failed in the page: {result['exceptionDetails']}")
        return result["result"].get("value")


async def _devtools_url(stderr: asyncio.StreamReader) -> str:
    """Chromium prints `DevTools listening on ws://...` once it listens (port 0: a free port)."""
    while line := await stderr.readline():
        text = line.decode(errors="replace").strip()
        if text.startswith("DevTools listening on "):
            return text.removeprefix("DevTools listening on ")
    raise AssertionError("Chromium exited before its DevTools port was open")


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.read(65536):
        pass


@pytest.fixture
async def chromium(tmp_path):
    """A headless Chromium with a fresh profile, and a DevTools client on it."""
    binary = shutil.which("chromium")
    if binary is None:
        pytest.fail(
            "chromium is not installed: run `apt-get install -y --no-install-recommends chromium` "
            "(.ci/run installs it) to run the browser test"
        )
    profile = tmp_path / "profile"
    process = await asyncio.create_subprocess_exec(
        binary,
        *FLAGS,
        f"--user-data-dir={profile}",
        "about:blank",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    drain = None
    try:
        url = await asyncio.wait_for(_devtools_url(process.stderr), STEP_SECONDS)
        drain = asyncio.create_task(_drain(process.stderr))  # a full pipe would stall Chromium
        async with aiohttp.ClientSession() as http, http.ws_connect(url, max_msg_size=0) as ws:
            yield DevTools(ws)
    finally:
        if process.returncode is None:
            process.kill()
        await asyncio.wait_for(process.wait(), STEP_SECONDS)
        if drain is not None:
            await drain


async def open_page(devtools: DevTools, url: str, width: int, height: int, scale: float) -> str:
    target = await devtools.call("Target.createTarget", url="about:blank")
    session = (await devtools.call("Target.attachToTarget", targetId=target["targetId"], flatten=True))["sessionId"]
    await devtools.call("Page.enable", session)
    await devtools.call(
        "Emulation.setDeviceMetricsOverride",
        session,
        width=width,
        height=height,
        deviceScaleFactor=scale,
        mobile=width < 600,  # a phone: the viewport meta tag applies
    )
    await devtools.call("Page.navigate", session, url=url)
    await devtools.event("Page.loadEventFired", session)
    return session


@pytest.mark.parametrize(
    ("name", "width", "height", "scale"), [("desktop", 1280, 900, 1), ("phone", 390, 844, 2)], ids=["1280px", "390px"]
)
async def test_digest_page_in_chromium(chromium, tmp_path, name, width, height, scale):
    """The zh digest at 1280 px and 390 px: no horizontal scroll (folds closed or open), every fold
    closed at first, Chinese labels, lang="en" on the paper's text and "zh" on the summaries; and a
    screenshot of each."""
    page = tmp_path / "digest.html"
    html = await asyncio.to_thread(render_digest, zh_digest(), "html")
    await asyncio.to_thread(page.write_text, html, encoding="utf-8")
    session = await open_page(chromium, page.as_uri(), width, height, scale)

    found = await chromium.evaluate(session, MEASURE % width)
    for state in ("closed", "opened"):
        measured = found[state]
        assert measured["scrollWidth"] == measured["innerWidth"] == width and measured["past"] == [], (state, measured)
    assert found["folds"] == 10 and found["closed"]["open"] == 0
    assert found["lang"] == "zh-Hans"
    assert found["labels"] == ["目录", *["要点", "摘要", "中文翻译"] * 5, "另有 3 篇论文符合条件,未收录"]
    assert found["titleLangs"] == ["en"] * 5 and found["tldrLangs"] == ["zh"] * 5
    assert found["abstractLangs"] == ["en", "zh"] * 5
    assert found["fontSize"] >= 15  # readable on a phone without zooming

    if width < 600:  # on a phone, show an entry with its translation unfolded: CJK text and a URL wrapping
        await chromium.evaluate(session, SHOW_FIRST_ENTRY)
    shot = await chromium.call("Page.captureScreenshot", session, format="png")
    png = base64.b64decode(shot["data"])
    assert png.startswith(b"\x89PNG") and int.from_bytes(png[16:20], "big") == width * scale
    folder = DOCS if os.environ.get("PAPERBOY_UPDATE_SCREENSHOTS") == "1" else tmp_path
    await asyncio.to_thread((folder / f"digest-{name}.png").write_bytes, png)

    if width < 600:
        assert await chromium.evaluate(session, WITHOUT_WRAPPING) > width
    else:  # a reader in dark mode gets a dark page, not light text on white
        dark = [{"name": "prefers-color-scheme", "value": "dark"}]
        await chromium.call("Emulation.setEmulatedMedia", session, features=dark)
        assert await chromium.evaluate(session, BACKGROUND) == "rgb(13, 17, 23)"
