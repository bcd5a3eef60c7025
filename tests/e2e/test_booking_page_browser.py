"""The booking page in a real browser (Debian's Chromium, tests/e2e/browser.py) against a real
server process that sends its mail to a real SMTP server on loopback (tests/smtp_server.py).

On a phone with script: the page comes back in the browser's zone; the visitor chooses a type and
a start, sends the form (once wrong, then right), sees the hold counted down, opens the link from
the e-mail, presses Confirm, and gets the confirmation e-mail. No request goes to another host;
every page fits the phone's width, and all its text has AA contrast.

On a desktop without script, by keyboard alone: the same flow, each focused element showing its
focus ring, the field only programs fill never reached.

One server and one browser serve both (each visitor in a context of its own)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

from tests.backend.test_manage_page import words_of
from tests.e2e.booking_provider import TYPES, open_booking_page
from tests.e2e.browser import STEP_TIMEOUT, launch
from tests.e2e.page_checks import Focused, assert_fits, assert_text_contrast, focused
from tests.e2e.server_process import ServerProcess
from tests.e2e.test_terminal_app import make_token
from tests.smtp_server import MailServer

PROVIDER_ZONE = "Europe/Lisbon"
VISITOR_ZONE = "America/New_York"
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
MAIL_WAIT = 30.0
"""Seconds the server's sender may take to hand a letter to the SMTP server (well under one)."""
MOST_TABS = 300
"""More Tab presses than any of the pages has stops."""


FIRST_ROW = """() => {
  const days = [...document.querySelectorAll("ul.times")];
  const full = days.find((day) => day.querySelectorAll("a.start").length >= 4);
  const times = [...full.querySelectorAll("a.start")];
  const top = times[0].getBoundingClientRect().top;
  const row = times.filter((time) => time.getBoundingClientRect().top === top);
  const edge = document.querySelector("main").getBoundingClientRect().right;
  return [row.length, edge - row[row.length - 1].getBoundingClientRect().right];
}"""
"""How many times the first row of the first day with four or more holds, and how far short of
the page's right edge it ends (the first day may hold fewer: the notice cuts its morning)."""


@dataclass(frozen=True)
class Site:
    url: str


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, smtp: MailServer) -> Iterator[Site]:
    """A server process whose provider p1 has their booking page on (a profile, two types, more
    than a week of weekday hours), sending mail to the SMTP server on loopback."""
    db = tmp_path_factory.mktemp("booking-page") / "slotbook.db"
    token = make_token(db, "provider", "p1", "Dr Ada Lovelace")
    with (
        ServerProcess(db, "--smtp-url", smtp.url) as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        open_booking_page(http, token, "p1", PROVIDER_ZONE, time.time())
        yield Site(server.url)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            yield browser
        finally:
            browser.close()


def letter_link(smtp: MailServer, address: str, count: int, subject: str, path: str) -> str:
    """The link to `path` in the `count`th letter to `address`, whose subject starts so."""
    letter = smtp.wait_for(address, count, timeout=MAIL_WAIT)[count - 1].message()
    said = " ".join(str(letter["Subject"]).split())  # a long subject comes folded
    assert said.startswith(subject), said
    words = words_of(letter)
    found = re.search(rf"http://\S+{path}/[A-Za-z0-9_-]+", words)
    assert found, words
    return found.group(0)


def local_time(at: int, zone: str) -> str:
    return f"{datetime.fromtimestamp(at, UTC).astimezone(ZoneInfo(zone)):%H:%M}"


def start_at(href: str | None) -> int:
    """The moment a start link holds (its `at`)."""
    assert href is not None
    return int(parse_qs(urlsplit(href).query)["at"][0])


def shot(page: Page, folder: Path, name: str) -> None:
    """The page as the visitor sees it, whole, saved for a person to look at."""
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def looks_right(page: Page, folder: Path, name: str) -> None:
    shot(page, folder, name)
    assert_fits(page)
    assert_text_contrast(page)


def test_a_visitor_books_on_a_phone_and_confirms_from_the_email(
    site: Site, chromium: Browser, smtp: MailServer, tmp_path: Path
) -> None:
    address = smtp.address("phone")
    context = chromium.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
        timezone_id=VISITOR_ZONE,
    )  # fmt: skip
    asked: list[str] = []
    context.on("request", lambda request: asked.append(request.url))
    page = context.new_page()
    page.set_default_timeout(STEP_TIMEOUT * 1000)

    page.goto(f"{site.url}/book/p1")
    page.wait_for_url(re.compile(r"zone=America%2FNew_York"))  # the script's guess
    assert page.inner_text("h1") == "Dr Ada Lovelace"
    assert f"in {VISITOR_ZONE}." in page.inner_text("main")
    long_one = str(TYPES[1]["name"])
    page.get_by_role("link", name=re.compile(f"^{long_one}")).click()
    page.wait_for_url(re.compile(r"type=[0-9a-f]{32}"))
    chosen = page.locator('ul.choices a[aria-current="true"]')
    assert chosen.inner_text().startswith(long_one)
    looks_right(page, tmp_path, "1-week")
    columns, gap = page.evaluate(FIRST_ROW)
    assert columns == 4, columns  # a phone's row of times: four, filling it
    assert gap <= 1, f"the first row of times ends {gap}px short of the page's edge"

    first = page.locator("a.start").first
    at = start_at(first.get_attribute("href"))
    assert first.inner_text() == local_time(at, VISITOR_ZONE) != local_time(at, PROVIDER_ZONE)
    first.click()
    page.wait_for_url(re.compile(r"/book/p1/start\?"))
    assert page.inner_text("h1") == "Book with Dr Ada Lovelace"
    assert f"({VISITOR_ZONE})" in page.inner_text(".summary")
    looks_right(page, tmp_path, "2-form")

    page.get_by_label("Your name").fill("Mary Jackson")
    page.get_by_label("Your e-mail address").fill("mary at example")
    page.get_by_label(re.compile("^A note for")).fill("First visit, knee pain")
    send = page.get_by_role("button", name="Hold this time and e-mail me the link")
    send.click()
    page.wait_for_selector("p.error")
    assert "Nothing was held" in page.inner_text("main")
    looks_right(page, tmp_path, "3-form-refused")
    page.get_by_label(re.compile("^Your e-mail address")).fill(address)
    send.click()
    page.wait_for_url(re.compile(r"/book/p1/sent/"))
    assert page.inner_text("h1") == "Check your e-mail"
    countdown = page.locator("[data-until]")
    left = countdown.inner_text()
    assert re.fullmatch(r" \(\d+:\d\d left\)", left), left
    page.wait_for_function(
        "shown => document.querySelector('[data-until]').textContent !== shown", arg=left
    )  # it runs
    looks_right(page, tmp_path, "4-sent")

    link = letter_link(smtp, address, 1, "Confirm your booking:", "/confirm")
    page.goto(link)
    assert page.inner_text("h1") == "Confirm your appointment"
    summary = page.inner_text(".summary")
    assert long_one in summary
    assert "First visit, knee pain" in summary
    assert "Mary Jackson" in summary
    looks_right(page, tmp_path, "5-confirm")
    with page.expect_navigation():
        page.get_by_role("button", name="Confirm").click()
    assert page.inner_text("h1") == "Booked"
    looks_right(page, tmp_path, "6-booked")
    letter_link(smtp, address, 2, "Confirmed:", "/manage")

    page.goto(f"{site.url}/book/p1/sent/no-such-hold")  # a refusal is a page too
    assert page.inner_text("h1") == "Nothing here"
    looks_right(page, tmp_path, "7-refusal")

    elsewhere = [url for url in asked if not url.startswith(f"{site.url}/")]
    assert not elsewhere, elsewhere
    assert any(url.endswith("/assets/book.js") for url in asked)
    context.close()


def tab_through(page: Page) -> list[Focused]:
    """Tab from the top of the page through every stop it has, back to the page itself: each
    shows its focus ring, and none is the field only programs fill in."""
    reached: list[Focused] = []
    for _ in range(MOST_TABS):
        page.keyboard.press("Tab")
        now = focused(page)
        if now is None:
            assert reached, f"nothing on {page.url} takes the focus"
            return reached
        assert now.id != "website", f"Tab reached the field only programs fill in on {page.url}"
        reached.append(now)
    raise AssertionError(f"{MOST_TABS} Tabs did not go round {page.url}")


def tab_to(page: Page, wanted: str) -> Focused:
    """Tab from where the focus is to the first stop whose description (tag#id.classes) has
    `wanted` in it."""
    for _ in range(MOST_TABS):
        page.keyboard.press("Tab")
        now = focused(page)
        if now is not None and wanted in now.what:
            return now
    raise AssertionError(f"Tab never reached {wanted} on {page.url}")


def press_and_wait(page: Page, key: str) -> None:
    """Press a key that sends the browser to another page, and wait for that page."""
    with page.expect_navigation():
        page.keyboard.press(key)


def test_a_visitor_books_by_keyboard_alone_without_script(
    site: Site, chromium: Browser, smtp: MailServer
) -> None:
    address = smtp.address("keyboard")
    context = chromium.new_context(viewport=DESKTOP, java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(STEP_TIMEOUT * 1000)
    page.goto(f"{site.url}/book/p1")
    assert f"in {PROVIDER_ZONE}." in page.inner_text("main")  # no script, no guess
    stops = tab_through(page)
    starts = [stop for stop in stops if "a.button.start" in stop.what]
    assert starts, [stop.what for stop in stops]
    assert any(stop.id == "zone" for stop in stops)
    assert any(stop.words == "Next week →" for stop in stops)

    start = tab_to(page, "a.button.start")
    assert start == starts[0]
    page.keyboard.press("Shift+Tab")  # and back again: the same start
    assert tab_to(page, "a.button.start") == start
    press_and_wait(page, "Enter")
    assert page.inner_text("h1") == "Book with Dr Ada Lovelace"
    assert f"{local_time(start_at(start.href), PROVIDER_ZONE)}" in page.inner_text(".summary")
    stops = tab_through(page)
    assert [stop.id for stop in stops if stop.tag == "input"] == ["name", "email", "note"]

    tab_to(page, "input#name")
    page.keyboard.type("Dorothy Vaughan")
    page.keyboard.press("Tab")
    page.keyboard.type(address)
    page.keyboard.press("Tab")
    page.keyboard.type("Please call if you run late")
    send = tab_to(page, "button")
    assert send.words == "Hold this time and e-mail me the link"
    page.keyboard.press("Shift+Tab")
    back = focused(page)
    assert back is not None
    assert back.id == "note"
    page.keyboard.press("Tab")
    press_and_wait(page, "Enter")
    assert page.inner_text("h1") == "Check your e-mail"
    tab_through(page)

    page.goto(letter_link(smtp, address, 1, "Confirm your booking:", "/confirm"))
    assert "Please call if you run late" in page.inner_text(".summary")
    stops = tab_through(page)
    assert [stop.words for stop in stops if stop.tag == "button"] == ["Confirm"]
    confirm = tab_to(page, "button")
    assert confirm.words == "Confirm"
    press_and_wait(page, "Enter")
    assert page.inner_text("h1") == "Booked"
    tab_through(page)
    letter_link(smtp, address, 2, "Confirmed:", "/manage")
    context.close()
