"""The booking page in a text browser (w3m, tests/text_browser.py): the week, the form and the
confirmation link's page read in order, as a screen reader reads them, without styles or script:
who, their profile, the choices, each day with its times, then the week's navigation; each
field's label (and hint) before the field."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from aiohttp.test_utils import TestServer

from tests.backend.test_booking_page import PROFILE, ZONE, delivered, page_on, start_links
from tests.backend.test_manage_page import forms_of
from tests.helpers import People
from tests.text_browser import w3m_dump

FROM_THE_PAGE = {"Sec-Fetch-Site": "same-origin"}
"""What a browser sends with the page's own form (and no Origin: the server's own address)."""
TYPES = (
    {"name": "Consultation", "minutes": 15, "description": "A question or a check-up"},
    {"name": "Long consultation", "minutes": 30, "description": "Time for something new"},
)
NEXT_DAY = "2030-03-07"


def in_order(text: str, *expected: str) -> None:
    """Each of `expected` is in `text` (its spaces and line breaks read as one space), each
    after the one before."""
    words = " ".join(text.split())
    at = 0
    for wanted in expected:
        found = words.find(wanted, at)
        assert found >= 0, f"{wanted!r} is not after {words[:at][-60:]!r} in:\n{text}"
        at = found + len(wanted)


async def test_w3m_reads_the_week_the_form_and_the_confirmation_in_order(
    people: People, anonymous: httpx.AsyncClient, secure_server: TestServer, tmp_path: Path
) -> None:
    for offered in TYPES:
        made = await people["p1"].post("/providers/p1/services", json=offered)
        assert made.status_code == 201, made.text
    await page_on(people)  # DAY 10:00-11:00 UTC
    window = {"startTime": f"{NEXT_DAY} 10:00:00", "endTime": f"{NEXT_DAY} 10:30:00"}
    assert (await people["p1"].post("/availability", json=window)).status_code == 201

    week = await anonymous.get("/book/p1", params={"zone": ZONE})
    assert week.status_code == 200, week.text
    shown = await w3m_dump(week.content)
    in_order(
        shown,
        "Dr One",
        PROFILE["about"],  # as written, never read as markup
        "Address", PROFILE["address"], "Phone", PROFILE["phone"], "Website", PROFILE["website"],
        "What would you like to book?",
        "Consultation (15 minutes) (chosen) A question or a check-up",
        "Long consultation (30 minutes) Time for something new",
        "Free times",
        f"From Monday 4 March 2030 to Sunday 10 March 2030, in {ZONE}.",
        "Wednesday 6 March 2030", "• 05:00", "• 05:15", "• 05:30", "• 05:45",
        "Thursday 7 March 2030", "• 05:00", "• 05:15",
        "Next week →",
        "Go to a date", "[2030-03-04", "Show that week",
        "Show times in", f"[{ZONE}", "Change time zone",
    )  # fmt: skip
    assert len(re.findall(r"^ *• \d\d:\d\d$", shown, re.MULTILINE)) == 6  # a line each

    form_page = await anonymous.get(start_links(week.text)[0][1])
    assert form_page.status_code == 200, form_page.text
    shown = await w3m_dump(form_page.content)
    in_order(
        shown,
        "Book with Dr One",
        "What", "Consultation (15 minutes)",
        "When", f"Wednesday 6 March 2030, 05:00–05:15 ({ZONE})",
        "Your name", "Hold this time and e-mail me the link", "Choose another time",
    )  # fmt: skip
    lines = [re.sub(r"\[ *\]", "[field]", line.strip()) for line in shown.splitlines()]
    fields = [line for line in lines if line]
    assert "Your name [field]" in fields, shown
    first = fields.index("Your name [field]")
    assert fields[first : first + 7] == [
        "Your name [field]",
        "Your e-mail address",
        "We send a link there: open it and press Confirm to book.",
        "[field]",
        "A note for Dr One",
        "Optional.",
        "[field]",
    ], shown  # each label, then its hint, then its field, on lines of their own

    form = forms_of(form_page.text)[0]  # the e-mail form; the token's is folded away below it
    address = "reader@example.com"
    data = {**form.fields, "name": "Rea Der", "email": address, "note": "By text"}
    held = await anonymous.post(form.action, data=data, headers=FROM_THE_PAGE)
    assert held.status_code == 303, held.text
    (letter,) = await delivered(secure_server, tmp_path, address)
    link = re.search(r"/confirm/[A-Za-z0-9_-]+", letter)
    assert link, letter
    confirm = await anonymous.get(link.group(0))
    assert confirm.status_code == 200, confirm.text
    in_order(
        await w3m_dump(confirm.content),
        "Confirm your appointment",
        "With", "Dr One", "What", "Consultation",
        "When", f"Wednesday 6 March 2030, 05:00–05:15 ({ZONE})",
        "Length", "15 minutes", "For", "Rea Der", "Note", "By text",
        f"This time is held for you until Monday 4 March 2030 at 04:30 ({ZONE})",
        "Press Confirm to book it.",
        "Confirm",
    )  # fmt: skip
