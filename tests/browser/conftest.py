"""Fixtures of the browser tests: Debian's Chromium driven by Playwright for Python.

The tests drive the built front ends (`make web`) as the local cloud serves them, on the
session's one `cloud` (tests/conftest.py), in headless Chromium from apt
(/usr/bin/chromium; Playwright's own browser download is never used). Each page
records what the browser complained about: a Content-Security-Policy violation, an
uncaught error or a failed request fails the test that caused it. Screenshots go under
reports/screens/ (git-ignored) for a person to look at.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from infra.localcloud.cloud import LocalCloud
from infra.localcloud.static import APPS, StaticSite

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENS = Path(__file__).resolve().parents[2] / "reports" / "screens"
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1440, "height": 900}
# Far from China on purpose: dates must still show in Asia/Shanghai.
BROWSER_ZONE = "America/New_York"


def yuan(fen: int) -> str:
    """The front ends' one formatting rule, restated for the assertions: 123456 -> 1,234.56."""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100:,}.{abs(fen) % 100:02d}"


def percent(rate: str) -> str:
    from decimal import ROUND_HALF_UP, Decimal

    return f"{(Decimal(rate) * 100).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)}%"


@pytest.fixture(scope="session")
def web_built() -> None:
    site = StaticSite()
    missing = [name for name in APPS if not site.built(name)]
    if missing:
        pytest.fail(f"front ends not built: {missing}; run `make web`", pytrace=False)


@pytest.fixture(scope="session")
def browser(web_built: None) -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail("no /usr/bin/chromium: `apt-get install chromium` (make bootstrap does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Screen:
    """One browser tab on the local cloud, with what the browser reported."""

    page: Any
    base_url: str
    problems: list[str] = field(default_factory=list)
    # Requests that failed, by URL; a download (the browser saving an attachment rather
    # than showing it) ends its navigation as net::ERR_ABORTED, which is no failure.
    failed: dict[str, str] = field(default_factory=dict)
    downloads: set[str] = field(default_factory=set)

    def open(self, path: str) -> None:
        self.page.goto(self.base_url + path)

    def shoot(self, name: str) -> Path:
        SCREENS.mkdir(parents=True, exist_ok=True)
        path = SCREENS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def session_token(self, key: str) -> str:
        import json

        raw = self.page.evaluate(f"sessionStorage.getItem({json.dumps(key)})")
        assert raw, f"no session in sessionStorage[{key}]"
        return str(json.loads(raw)["token"])


def _screen(browser: Any, cloud: LocalCloud, **context: Any) -> Iterator[Screen]:
    ctx = browser.new_context(
        locale="zh-CN", timezone_id=BROWSER_ZONE, service_workers="block", **context
    )
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()
    screen = Screen(page, cloud.api_url)

    def on_console(message: Any) -> None:
        text = message.text
        if message.type == "error" and not _expected_api_refusal(text):
            screen.problems.append(f"console: {text}")
        elif "Content Security Policy" in text:
            screen.problems.append(f"csp: {text}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: screen.problems.append(f"page error: {exc}"))
    page.on("requestfailed", lambda req: screen.failed.setdefault(req.url, str(req.failure)))
    page.on("download", lambda download: screen.downloads.add(download.url))
    try:
        yield screen
    finally:
        ctx.close()
    screen.problems += [
        f"request failed: {url} {why}"
        for url, why in screen.failed.items()
        if not (url in screen.downloads and why == "net::ERR_ABORTED")
    ]
    assert not screen.problems, "the browser reported:\n" + "\n".join(screen.problems)


def _expected_api_refusal(text: str) -> bool:
    """Chromium logs every 4xx fetch as an error; the tests provoke some on purpose
    (a digest for a day without one). Those are not the page's failures."""
    return "Failed to load resource: the server responded with a status of 4" in text


@pytest.fixture
def h5(browser: Any, cloud: LocalCloud) -> Iterator[Screen]:
    """The H5 app's viewport: a 375x812 phone with touch."""
    yield from _screen(
        browser, cloud, viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
    )


@pytest.fixture
def desk(browser: Any, cloud: LocalCloud) -> Iterator[Screen]:
    """A staff PC for the console."""
    yield from _screen(browser, cloud, viewport=DESKTOP)


@pytest.fixture
def new_desk(browser: Any, cloud: LocalCloud) -> Iterator[Callable[[], Screen]]:
    """More PCs in one test (two people side by side)."""
    opened: list[Iterator[Screen]] = []

    def make() -> Screen:
        gen = _screen(browser, cloud, viewport=DESKTOP)
        opened.append(gen)
        return next(gen)

    yield make
    for gen in opened:
        for _ in gen:  # runs the context's close and its assertion
            pass
