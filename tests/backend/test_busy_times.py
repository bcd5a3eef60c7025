"""What in a provider's calendar counts as busy (backend/rules/busy_times.py), read from calendars
written here as a calendar program exports them. Times in the assertions are UTC; the provider's
zone is Paris, where clocks go back on Sunday 27 October 2030 (09:00 is 07:00 UTC before, 08:00
after)."""

from __future__ import annotations

from datetime import UTC, datetime
from textwrap import dedent

import pytest

from backend.live.calendars import UID_DOMAIN
from backend.rules.busy_times import (
    MAX_PIECE,
    AllDay,
    BusyInterval,
    BusyTimes,
    CalendarUnreadable,
    busy_times,
)

OCTOBER = ("2030-10-01 00:00", "2030-11-01 00:00")

PARIS_VTIMEZONE = """
BEGIN:VTIMEZONE
TZID:Europe/Paris
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE
"""


def calendar(*components: str, head: str = "") -> bytes:
    """A calendar as calendar programs export one: CRLF line ends, its components in order."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Example//Calendar 1.0//EN"]
    lines += dedent(head).strip().splitlines()
    for component in components:
        lines += dedent(component).strip().splitlines()
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()


def event(uid: str, start: str, end: str, summary: str = "") -> str:
    """A plain VEVENT from `start` to `end` (UTC, as 20301002T090000Z)."""
    title = f"SUMMARY:{summary}\n" if summary else ""
    return (
        f"BEGIN:VEVENT\nUID:{uid}\nDTSTAMP:20300901T000000Z\n{title}"
        f"DTSTART:{start}\nDTEND:{end}\nEND:VEVENT"
    )


def epoch(text: str) -> int:
    return int(datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC).timestamp())


def read(
    *calendars: bytes,
    window: tuple[str, str] = OCTOBER,
    zone: str = "Europe/Paris",
    all_day: AllDay = "busy",
) -> BusyTimes:
    return busy_times(
        calendars,
        window_start=epoch(window[0]),
        window_end=epoch(window[1]),
        provider_zone=zone,
        all_day=all_day,
    )


def utc(busy: BusyTimes) -> list[tuple[str, str]]:
    def shown(moment: int) -> str:
        return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M")

    return [(shown(interval.start), shown(interval.ends)) for interval in busy.intervals]


def unreadable(*calendars: bytes) -> str:
    with pytest.raises(CalendarUnreadable) as refused:
        read(*calendars)
    return str(refused.value)


# --- recurrences ----------------------------------------------------------------------------------


def test_every_instance_of_a_weekly_event_with_its_exdate_rdate_and_moved_instance() -> None:
    team = calendar(
        PARIS_VTIMEZONE,
        """
        BEGIN:VEVENT
        UID:team-weekly@example.com
        DTSTAMP:20300901T000000Z
        SUMMARY:Team meeting
        DESCRIPTION:Every Tuesday at nine in the small room on the second floor
          with the notes of the week before.
        DTSTART;TZID=Europe/Paris:20300910T090000
        DTEND;TZID=Europe/Paris:20300910T100000
        RRULE:FREQ=WEEKLY;BYDAY=TU;UNTIL=20301022T235959Z
        EXDATE;TZID=Europe/Paris:2030
         1008T090000
        RDATE;TZID=Europe/Paris:20301018T170000
        END:VEVENT
        BEGIN:VEVENT
        UID:team-weekly@example.com
        DTSTAMP:20300901T000000Z
        RECURRENCE-ID;TZID=Europe/Paris:20301015T090000
        SUMMARY:Team meeting (moved to Wednesday afternoon)
        DTSTART;TZID=Europe/Paris:20301016T140000
        DTEND;TZID=Europe/Paris:20301016T150000
        END:VEVENT
        """,
    )

    busy = read(team)

    # September's instances lie before the window; 8 October is excepted; 15 October moved to
    # the 16th, and its old time is free; the RDATE adds Friday the 18th; the rule ends on the 22nd.
    assert utc(busy) == [
        ("2030-10-01 07:00", "2030-10-01 08:00"),
        ("2030-10-16 12:00", "2030-10-16 13:00"),
        ("2030-10-18 15:00", "2030-10-18 16:00"),
        ("2030-10-22 07:00", "2030-10-22 08:00"),
    ]
    assert busy.events == 4


@pytest.mark.parametrize(
    ("tzid", "zone_definition"),
    [
        ("Europe/Paris", PARIS_VTIMEZONE),
        ("Europe/Paris", ""),
        ("Paris time", PARIS_VTIMEZONE.replace("TZID:Europe/Paris", "TZID:Paris time")),
    ],
    ids=["named-and-defined", "named-only", "defined-under-a-name-of-its-own"],
)
def test_an_event_keeps_its_own_zone_across_the_daylight_saving_change(
    tzid: str, zone_definition: str
) -> None:
    yoga = f"""
        BEGIN:VEVENT
        UID:yoga@example.com
        DTSTAMP:20300901T000000Z
        SUMMARY:Yoga
        DTSTART;TZID={tzid}:20301015T090000
        DTEND;TZID={tzid}:20301015T100000
        RRULE:FREQ=WEEKLY;COUNT=4
        END:VEVENT
        """
    components = [zone_definition, yoga] if zone_definition else [yoga]

    busy = read(calendar(*components), zone="UTC")

    # 09:00 in Paris each Tuesday: 07:00 UTC in summer time, 08:00 UTC once clocks go back.
    assert utc(busy) == [
        ("2030-10-15 07:00", "2030-10-15 08:00"),
        ("2030-10-22 07:00", "2030-10-22 08:00"),
        ("2030-10-29 08:00", "2030-10-29 09:00"),
    ]
    busy = read(calendar(*components), window=("2030-10-01 00:00", "2030-12-01 00:00"))
    assert utc(busy)[-1] == ("2030-11-05 08:00", "2030-11-05 09:00")


# --- floating times and all-day events ------------------------------------------------------------

DENTIST_FLOATING = """
BEGIN:VEVENT
UID:dentist@example.com
DTSTAMP:20300901T000000Z
SUMMARY:Dentist
DTSTART:20301010T090000
DTEND:20301010T100000
END:VEVENT
"""


def test_a_floating_time_is_read_in_the_calendars_x_wr_timezone() -> None:
    new_york = calendar(DENTIST_FLOATING, head="X-WR-TIMEZONE:America/New_York")

    assert utc(read(new_york)) == [("2030-10-10 13:00", "2030-10-10 14:00")]


def test_a_floating_time_without_x_wr_timezone_is_read_in_the_providers_zone() -> None:
    assert utc(read(calendar(DENTIST_FLOATING))) == [("2030-10-10 07:00", "2030-10-10 08:00")]
    assert utc(read(calendar(DENTIST_FLOATING), zone="Asia/Tokyo")) == [
        ("2030-10-10 00:00", "2030-10-10 01:00")
    ]
    # 9 October 21:00 taken as UTC lies outside this window; in Los Angeles it is 04:00 UTC.
    late = calendar(
        """
        BEGIN:VEVENT
        UID:late-call@example.com
        DTSTAMP:20300901T000000Z
        SUMMARY:Late call
        DTSTART:20301009T210000
        DTEND:20301009T220000
        END:VEVENT
        """
    )
    in_los_angeles = read(
        late, zone="America/Los_Angeles", window=("2030-10-10 00:00", "2030-10-11 00:00")
    )
    assert utc(in_los_angeles) == [("2030-10-10 04:00", "2030-10-10 05:00")]


HOLIDAY = """
BEGIN:VEVENT
UID:holiday@example.com
DTSTAMP:20300901T000000Z
SUMMARY:Long weekend away
DTSTART;VALUE=DATE:20301012
DTEND;VALUE=DATE:20301014
END:VEVENT
"""


def test_all_day_events_are_busy_for_their_whole_local_days_when_the_source_says_so() -> None:
    busy = read(calendar(HOLIDAY), all_day="busy")

    # Saturday and Sunday in Paris: from Friday 22:00 UTC to Sunday 22:00 UTC.
    assert utc(busy) == [
        ("2030-10-11 22:00", "2030-10-12 22:00"),
        ("2030-10-12 22:00", "2030-10-13 22:00"),
    ]
    assert busy.events == 1
    in_new_york = calendar(HOLIDAY, head="X-WR-TIMEZONE:America/New_York")
    assert utc(read(in_new_york))[0][0] == "2030-10-12 04:00"


def test_all_day_events_are_left_out_when_the_source_ignores_them() -> None:
    busy = read(calendar(HOLIDAY, DENTIST_FLOATING), all_day="ignore")

    assert utc(busy) == [("2030-10-10 07:00", "2030-10-10 08:00")]
    assert busy.events == 1


def test_an_event_without_dtend_lasts_its_duration_else_a_day_or_no_time_at_all() -> None:
    busy = read(
        calendar(
            """
            BEGIN:VEVENT
            UID:call@example.com
            DTSTAMP:20300901T000000Z
            SUMMARY:Call, an hour and a half
            DTSTART:20301003T120000Z
            DURATION:PT1H30M
            END:VEVENT
            BEGIN:VEVENT
            UID:birthday@example.com
            DTSTAMP:20300901T000000Z
            SUMMARY:A date and nothing else: one day
            DTSTART;VALUE=DATE:20301005
            END:VEVENT
            BEGIN:VEVENT
            UID:reminder@example.com
            DTSTAMP:20300901T000000Z
            SUMMARY:A moment and nothing else: no time at all
            DTSTART:20301007T120000Z
            END:VEVENT
            """
        )
    )

    assert utc(busy) == [
        ("2030-10-03 12:00", "2030-10-03 13:30"),
        ("2030-10-04 22:00", "2030-10-05 22:00"),
    ]
    assert busy.events == 2


# --- what is never busy ---------------------------------------------------------------------------


def test_transparent_and_cancelled_events_are_not_busy() -> None:
    busy = read(
        calendar(
            PARIS_VTIMEZONE,
            """
            BEGIN:VEVENT
            UID:reading@example.com
            DTSTAMP:20300901T000000Z
            SUMMARY:Reading time (shown as free)
            DTSTART;TZID=Europe/Paris:20301002T090000
            DTEND;TZID=Europe/Paris:20301002T120000
            TRANSP:TRANSPARENT
            END:VEVENT
            BEGIN:VEVENT
            UID:lunch@example.com
            DTSTAMP:20300901T000000Z
            SUMMARY:Lunch, called off
            DTSTART;TZID=Europe/Paris:20301003T120000
            DTEND;TZID=Europe/Paris:20301003T130000
            STATUS:CANCELLED
            END:VEVENT
            BEGIN:VEVENT
            UID:standup@example.com
            DTSTAMP:20300901T000000Z
            SUMMARY:Stand-up
            DTSTART;TZID=Europe/Paris:20301007T093000
            DTEND;TZID=Europe/Paris:20301007T094500
            RRULE:FREQ=DAILY;COUNT=3
            TRANSP:OPAQUE
            STATUS:CONFIRMED
            END:VEVENT
            BEGIN:VEVENT
            UID:standup@example.com
            DTSTAMP:20300901T000000Z
            RECURRENCE-ID;TZID=Europe/Paris:20301008T093000
            SUMMARY:Stand-up (not today)
            DTSTART;TZID=Europe/Paris:20301008T093000
            DTEND;TZID=Europe/Paris:20301008T094500
            STATUS:CANCELLED
            END:VEVENT
            """,
        )
    )

    assert utc(busy) == [
        ("2030-10-07 07:30", "2030-10-07 07:45"),
        ("2030-10-09 07:30", "2030-10-09 07:45"),
    ]
    assert busy.events == 2


def test_the_events_slotbook_wrote_itself_are_not_busy() -> None:
    busy = read(
        calendar(
            event(
                f"r-7f3a9c@{UID_DOMAIN}",
                "20301004T080000Z",
                "20301004T090000Z",
                "Ada Lovelace: Consultation (booked through slotbook)",
            ),
            event(
                f"meeting@{UID_DOMAIN}.example.com",
                "20301004T100000Z",
                "20301004T110000Z",
                "Another server's, whose name only begins alike",
            ),
        )
    )

    assert utc(busy) == [("2030-10-04 10:00", "2030-10-04 11:00")]


def test_free_busy_periods_count_unless_free_and_to_dos_and_journal_entries_never() -> None:
    answer = calendar(
        """
        BEGIN:VFREEBUSY
        UID:freebusy-answer@example.com
        DTSTAMP:20300901T000000Z
        DTSTART:20301001T000000Z
        DTEND:20301101T000000Z
        FREEBUSY;FBTYPE=BUSY:20301002T080000Z/20301002T090000Z,20301002T100000Z/PT30M
        FREEBUSY;FBTYPE=BUSY-UNAVAILABLE:20301003T080000Z/20301003T090000Z
        FREEBUSY;FBTYPE=BUSY-TENTATIVE:20301004T080000Z/20301004T090000Z
        FREEBUSY:20301005T080000Z/20301005T090000Z
        FREEBUSY;FBTYPE=FREE:20301006T080000Z/20301006T090000Z
        END:VFREEBUSY
        BEGIN:VTODO
        UID:taxes@example.com
        DTSTAMP:20300901T000000Z
        SUMMARY:File taxes
        DTSTART:20301007T080000Z
        DUE:20301007T170000Z
        END:VTODO
        BEGIN:VJOURNAL
        UID:notes@example.com
        DTSTAMP:20300901T000000Z
        SUMMARY:Notes of the day
        DTSTART;VALUE=DATE:20301008
        END:VJOURNAL
        """
    )

    busy = read(answer)

    assert utc(busy) == [
        ("2030-10-02 08:00", "2030-10-02 09:00"),
        ("2030-10-02 10:00", "2030-10-02 10:30"),
        ("2030-10-03 08:00", "2030-10-03 09:00"),
        ("2030-10-04 08:00", "2030-10-04 09:00"),
        ("2030-10-05 08:00", "2030-10-05 09:00"),
    ]
    assert busy.events == 5


# --- the intervals handed out ---------------------------------------------------------------------


def test_overlapping_and_touching_events_are_merged_and_clipped_to_the_window() -> None:
    busy = read(
        calendar(
            event("a@example.com", "20301002T090000Z", "20301002T100000Z"),
            event("b@example.com", "20301002T093000Z", "20301002T110000Z", "Overlaps a"),
            event("c@example.com", "20301002T110000Z", "20301002T120000Z", "Touches b"),
            event("d@example.com", "20301002T140000Z", "20301002T150000Z"),
            event(
                "e@example.com", "20301001T200000Z", "20301002T080000Z", "Begun before the window"
            ),
            event(
                "f@example.com", "20301003T090000Z", "20301003T100000Z", "Wholly after the window"
            ),
        ),
        window=("2030-10-02 00:00", "2030-10-03 00:00"),
    )

    assert utc(busy) == [
        ("2030-10-02 00:00", "2030-10-02 08:00"),
        ("2030-10-02 09:00", "2030-10-02 12:00"),
        ("2030-10-02 14:00", "2030-10-02 15:00"),
    ]
    assert busy.events == 5


def test_a_three_day_event_is_handed_out_in_pieces_of_at_most_a_day() -> None:
    busy = read(
        calendar(
            """
            BEGIN:VEVENT
            UID:conference@example.com
            DTSTAMP:20300901T000000Z
            SUMMARY:Conference
            DTSTART:20301014T120000Z
            DTEND:20301017T150000Z
            END:VEVENT
            """
        )
    )

    assert busy.intervals == [
        BusyInterval(epoch("2030-10-14 12:00"), epoch("2030-10-15 12:00")),
        BusyInterval(epoch("2030-10-15 12:00"), epoch("2030-10-16 12:00")),
        BusyInterval(epoch("2030-10-16 12:00"), epoch("2030-10-17 12:00")),
        BusyInterval(epoch("2030-10-17 12:00"), epoch("2030-10-17 15:00")),
    ]
    assert all(interval.ends - interval.start <= MAX_PIECE for interval in busy.intervals)
    assert busy.events == 1


def test_the_calendars_of_a_caldav_report_are_read_together() -> None:
    first = calendar(event("one@example.com", "20301002T090000Z", "20301002T100000Z"))
    second = calendar(event("two@example.com", "20301002T100000Z", "20301002T113000Z"))

    busy = read(first, second)

    assert utc(busy) == [("2030-10-02 09:00", "2030-10-02 11:30")]
    assert busy.events == 2
    broken = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:three\r\n"
    assert unreadable(first, second, broken) == (
        "calendar object 3 of 3: the calendar ends before the VEVENT that begins on line 3"
        " is closed (END:VEVENT is missing)"
    )


def test_an_empty_calendar_is_no_busy_time_at_all() -> None:
    assert read(calendar()) == BusyTimes(intervals=[], events=0)
    assert read(b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR") == BusyTimes([], 0)
    assert read() == BusyTimes(intervals=[], events=0)


def test_what_busy_times_do_not_read_may_be_broken_without_refusing_the_calendar() -> None:
    busy = read(
        calendar(
            """
            BEGIN:VEVENT
            UID:board@example.com
            DTSTAMP:20300901T000000Z
            SUMMARY:Board meeting
            DTSTART:20301009T080000Z
            DTEND:20301009T100000Z
            ORGANIZER;CN=Chair:mailto:chair@example.com
            ATTENDEE;CN=Sam;RSVP:mailto:sam@example.com
            GEO:somewhere downtown
            BEGIN:VALARM
            ACTION:DISPLAY
            TRIGGER:ten minutes before
            END:VALARM
            END:VEVENT
            BEGIN:VTODO
            UID:agenda@example.com
            DUE:tomorrow
            END:VTODO
            """
        )
    )

    assert utc(busy) == [("2030-10-09 08:00", "2030-10-09 10:00")]


# --- calendars that cannot be read ----------------------------------------------------------------


def test_a_page_that_is_not_a_calendar_is_refused_in_words() -> None:
    page = b"<!DOCTYPE html>\n<html><body>Sign in to see this calendar</body></html>\n"

    assert unreadable(page) == (
        'line 1 is not iCalendar: "<!DOCTYPE html>" (a calendar begins with BEGIN:VCALENDAR)'
    )
    assert unreadable(b"") == "the calendar is empty: it has not even a BEGIN:VCALENDAR line"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            """
            BEGIN:VCALENDAR
            VERSION:2.0
            BEGIN:VEVENT
            UID:lunch@example.com
            SUMMARY:Lunch with Sam
            DTSTART:20301002T120000Z
            this line lost its property name
            DTEND:20301002T130000Z
            END:VEVENT
            END:VCALENDAR
            """,
            'line 7 is not iCalendar: "this line lost its property name"',
        ),
        (
            """
            BEGIN:VCALENDAR
            VERSION:2.0
            BEGIN:VEVENT
            UID:lunch@example.com
            DESCRIPTION:Lines folded in two count as the two lines they are
              in the file.
            DTSTART:20301002T120000Z
            END:VEVENT
            BEGIN:VEVENT
            UID:dinner@example.com
            DTSTART;TZID:20301002T190000
            END:VEVENT
            END:VCALENDAR
            """,
            'line 11 is not iCalendar: "DTSTART;TZID:20301002T190000"',
        ),
        (
            """
            BEGIN:VEVENT
            UID:lunch@example.com
            DTSTART:20301002T120000Z
            END:VEVENT
            """,
            'line 1 is not iCalendar: "BEGIN:VEVENT" (a calendar begins with BEGIN:VCALENDAR)',
        ),
        (
            """
            BEGIN:VCALENDAR
            VERSION:2.0
            BEGIN:VEVENT
            UID:lunch@example.com
            SUMMARY;ALTREP="https://example.com/lunch":Lunch with Sam
            DTEND:20301002T130000Z
            END:VEVENT
            END:VCALENDAR
            """,
            'line 3: the event "Lunch with Sam" that begins here has no DTSTART, so when it'
            " happens cannot be known",
        ),
        (
            """
            BEGIN:VCALENDAR
            VERSION:2.0
            BEGIN:VEVENT
            UID:lunch@example.com
            SUMMARY:Lunch with Sam
            DTSTART:20301002T120000Z
            DTEND:20301002T130000Z
            RRULE:FREQ=FORTNIGHTLY
            END:VEVENT
            END:VCALENDAR
            """,
            'line 8: the RRULE "FREQ=FORTNIGHTLY" cannot be read: "FORTNIGHTLY" is no FREQ (one'
            " of SECONDLY, MINUTELY, HOURLY, DAILY, WEEKLY, MONTHLY, YEARLY) (in the event"
            ' "Lunch with Sam" that begins on line 3)',
        ),
        (
            """
            BEGIN:VCALENDAR
            VERSION:2.0
            BEGIN:VEVENT
            UID:lunch@example.com
            SUMMARY:Lunch with Sam
            DTSTART:20301002T120000Z
            DTEND:20301002T130000Z
            RRULE:FREQ=WEEKLY;BYDAY=MONDAY
            END:VEVENT
            END:VCALENDAR
            """,
            'line 8: RRULE "FREQ=WEEKLY;BYDAY=MONDAY" cannot be read (Expected weekday'
            ' abbreviation, got: MONDAY) (in the event "Lunch with Sam" that begins on line 3)',
        ),
        (
            """
            BEGIN:VCALENDAR
            VERSION:2.0
            BEGIN:VEVENT
            UID:lunch@example.com
            SUMMARY:Lunch with Sam
            DTSTART:20301002T120000Z
            DTEND:20301002T130000Z
            RRULE:FREQ=WEEKLY;BYHOUR=25
            END:VEVENT
            END:VCALENDAR
            """,
            'line 3: the times of the event "Lunch with Sam" that begins here cannot be worked'
            ' out: its RRULE "FREQ=WEEKLY;BYHOUR=25" cannot be followed',
        ),
        (
            """
            BEGIN:VCALENDAR
            VERSION:2.0
            BEGIN:VEVENT
            UID:pulse@example.com
            DTSTART:20301002T120000Z
            RRULE:FREQ=MINUTELY
            END:VEVENT
            END:VCALENDAR
            """,
            'line 6: the RRULE "FREQ=MINUTELY" repeats more often than every quarter of an hour,'
            " which slotbook does not follow (in the event that begins on line 3)",
        ),
        (
            """
            BEGIN:VCALENDAR
            VERSION:2.0
            BEGIN:VEVENT
            UID:pulse@example.com
            DTSTART:20301002T120000Z
            RRULE:FREQ=DAILY;INTERVAL=0
            END:VEVENT
            END:VCALENDAR
            """,
            'line 6: the RRULE "FREQ=DAILY;INTERVAL=0" cannot be read: its INTERVAL must be a'
            " whole number above 0 (in the event that begins on line 3)",
        ),
        (
            """
            BEGIN:VCALENDAR
            VERSION:2.0
            BEGIN:VEVENT
            UID:lunch@example.com
            DTSTART:2030-10-02 12:00
            END:VEVENT
            END:VCALENDAR
            """,
            'line 5: DTSTART "2030-10-02 12:00" cannot be read (Wrong datetime format:'
            " 2030-10-02 12:00) (in the event that begins on line 3)",
        ),
        (
            """
            BEGIN:VCALENDAR
            VERSION:2.0
            BEGIN:VFREEBUSY
            FREEBUSY:20301002T120000Z
            END:VFREEBUSY
            END:VCALENDAR
            """,
            'line 4: FREEBUSY "20301002T120000Z" cannot be read (Expected period format, got:'
            " 20301002T120000Z) (in the free/busy block that begins on line 3)",
        ),
        (
            """
            BEGIN:VCALENDAR
            VERSION:2.0
            BEGIN:VEVENT
            UID:lunch@example.com
            DTSTART:20301002T120000Z
            END:VTODO
            END:VCALENDAR
            """,
            "line 6 ends a VTODO, but the VEVENT that begins on line 3 is still open",
        ),
        (
            """
            BEGIN:VCALENDAR
            VERSION:2.0
            X-WR-TIMEZONE:Europe/Pariss
            END:VCALENDAR
            """,
            'line 3: X-WR-TIMEZONE "Europe/Pariss" is not the time zone of a place; did you mean'
            " 'Europe/Paris'?",
        ),
    ],
    ids=[
        "not-a-content-line",
        "a-parameter-without-a-value-after-a-folded-line",
        "an-event-without-its-calendar",
        "no-dtstart",
        "rrule-without-a-frequency",
        "rrule-the-parser-refuses",
        "rrule-that-cannot-be-followed",
        "rrule-too-often",
        "rrule-interval-zero",
        "date-not-iso-basic",
        "free-busy-without-an-end",
        "components-not-nested",
        "unknown-x-wr-timezone",
    ],
)
def test_a_malformed_calendar_is_refused_saying_what_and_where(document: str, message: str) -> None:
    text = dedent(document).strip().replace("\n", "\r\n") + "\r\n"

    assert unreadable(text.encode()) == message
