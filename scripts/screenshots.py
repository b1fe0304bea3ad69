"""`make screenshots`: the pictures under docs/, taken from a demo hub at 1024 and 1440 px.

Starts `switchboard demo` on free ports in a scratch folder, has a customer write in the
chat widget, an agent answer in the console and a supervisor watch the wallboard, and
writes docs/<page>.png (1440 px wide) and docs/<page>-1024.png. The tests never write
into the checkout; this is the only thing that refreshes the pictures.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.async_api import Browser, Page, async_playwright, expect

from hub.demo import DEMO_PASSWORD
from insights.page import render_html
from insights.report import VocOptions, build_report
from tests.insights.test_report_browser import month_of_contacts

DOCS = Path(__file__).resolve().parents[1] / "docs"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu"]
WIDTHS = {"": 1440, "-1024": 1024}
HEIGHT = 860
START_SECONDS = 180  # the first start loads the sentence model


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_demo(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [sys.executable, "-m", "hub.cli", "demo", "--port", str(port)]
    command += ["--smtp-port", str(free_port())]
    log = (folder / "hub.log").open("wb")
    hub = subprocess.Popen(command, cwd=folder, stdout=log, stderr=log)  # noqa: S603
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2):  # noqa: S310 - our own hub
                return hub, url
        except OSError:
            time.sleep(0.3)
    hub.terminate()
    raise SystemExit(
        f"the demo hub did not start within {START_SECONDS} s; see its log:\n"
        + (folder / "hub.log").read_text(errors="replace")[-2000:]
    )


async def shoot(page: Page, name: str, full_page: bool = False) -> None:
    for suffix, width in WIDTHS.items():
        await page.set_viewport_size({"width": width, "height": HEIGHT})
        await page.wait_for_timeout(400)  # layout and transitions settle
        path = DOCS / f"{name}{suffix}.png"
        await page.screenshot(path=str(path), full_page=full_page)
        print(f"wrote {path.relative_to(DOCS.parent)}")


async def sign_in(browser: Browser, url: str, username: str) -> Page:
    context = await browser.new_context(viewport={"width": 1440, "height": HEIGHT})
    page = await context.new_page()
    await page.goto(url + "/console/login")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    return page


async def console_and_widget(browser: Browser, url: str) -> None:
    agent = await sign_in(browser, url, "alice")
    await agent.get_by_role("radio", name="Available").check()
    visitor = await (await browser.new_context(viewport={"width": 1100, "height": 760})).new_page()
    await visitor.goto(url + "/chat/demo")
    await visitor.get_by_role("button", name="Open chat: Acme Bank support").click()
    chat = visitor.get_by_role("dialog", name="Acme Bank support")
    await chat.get_by_label("Message").fill("Hello, my card was declined at the supermarket")
    await chat.get_by_role("button", name="Send", exact=True).click()

    await agent.locator("#offers > li").get_by_role("button", name="Accept").click()
    await expect(agent.locator("#suggestions > li").first).to_be_visible()
    reply = agent.get_by_role("textbox", name="Reply")
    await reply.fill("Sorry about that! Let me check your card's daily limit.")
    await reply.press("Enter")
    await expect(chat.locator(".msg.agent")).to_contain_text("daily limit")
    await chat.get_by_label("Message").fill("Is my card frozen? It was declined again just now")
    await chat.get_by_role("button", name="Send", exact=True).click()
    await expect(agent.locator(".message-incoming").last).to_contain_text("declined again")
    await expect(agent.locator("#knowledge-query")).to_contain_text("declined again")
    await shoot(agent, "console")
    await shoot(visitor, "widget")

    board = await sign_in(browser, url, "sam")
    await board.goto(url + "/console/wallboard")
    await expect(board.locator("#connection")).to_have_attribute("data-state", "live")
    await board.wait_for_timeout(1200)  # the waits tick past zero
    await shoot(board, "wallboard")


async def settings_pages(browser: Browser, url: str) -> None:
    """The admin's settings page (agents to surveys) and the customers page, as the demo
    seeds them."""
    admin = await sign_in(browser, url, "ada")
    await admin.goto(url + "/console/admin")
    await expect(admin.locator("#agents tr").first).to_be_visible()
    await expect(admin.locator("#hours-section")).to_be_visible()
    await shoot(admin, "admin", full_page=True)
    await admin.goto(url + "/console/customers")
    await admin.locator("#customer-q").fill("Jane")
    await admin.locator("#customer-q").press("Enter")
    await admin.locator("#results .result").first.click()
    await expect(admin.locator("#record-conversations li").first).to_be_visible()
    await shoot(admin, "customers")


async def voc_report(browser: Browser, folder: Path) -> None:
    """The report's browser test month: a month of contacts with a surge at its end."""
    now = datetime.now(UTC)
    options = VocOptions(since=now - timedelta(days=30), until=now, n_topics=3)
    path = folder / "report.html"
    path.write_text(render_html(build_report(month_of_contacts(now), options)), encoding="utf-8")
    page = await browser.new_page()
    await page.goto(path.as_uri())
    await shoot(page, "voc-report", full_page=True)


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="switchboard-screenshots-") as scratch:
        folder = Path(scratch)
        hub, url = start_demo(folder)
        try:
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(
                    executable_path=CHROMIUM, args=CHROMIUM_ARGS
                )
                await console_and_widget(browser, url)
                await settings_pages(browser, url)
                await voc_report(browser, folder)
                await browser.close()
        finally:
            hub.terminate()
            hub.wait(timeout=10)


if __name__ == "__main__":
    asyncio.run(main())
