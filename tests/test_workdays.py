"""Working days and deadlines (triage in 2 working days, report in 5), over calendars
built in code, so these tests do not depend on the shipped rules/calendar.toml (that one is
covered at the end and in test_calendar_rules.py)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from mailbot.rulebook import default_rules_dir, load_rulebook
from mailbot.rulebook.models import Calendar
from mailbot.workdays import END_OF_DAY, WorkCalendar, easter_monday, easter_sunday, end_of_day

ROME = ZoneInfo("Europe/Rome")
UTC = timezone.utc
TRIAGE, REPORT = 2, 5

# Every Italian national holiday (a day off whatever the weekday), in Italian, for 2026 and 2027.
NATIONAL = {
    2026: {
        date(2026, 1, 1): "Capodanno",
        date(2026, 1, 6): "Epifania",
        date(2026, 4, 6): "Pasquetta",
        date(2026, 4, 25): "Liberazione",
        date(2026, 5, 1): "Festa del Lavoro",
        date(2026, 6, 2): "Festa della Repubblica",
        date(2026, 8, 15): "Ferragosto",
        date(2026, 10, 4): "San Francesco",  # national holiday again from 2026 (law 151/2025)
        date(2026, 11, 1): "Ognissanti",
        date(2026, 12, 8): "Immacolata",
        date(2026, 12, 25): "Natale",
        date(2026, 12, 26): "Santo Stefano",
    },
    2027: {
        date(2027, 1, 1): "Capodanno",
        date(2027, 1, 6): "Epifania",
        date(2027, 3, 29): "Pasquetta",
        date(2027, 4, 25): "Liberazione",
        date(2027, 5, 1): "Festa del Lavoro",
        date(2027, 6, 2): "Festa della Repubblica",
        date(2027, 8, 15): "Ferragosto",
        date(2027, 10, 4): "San Francesco",
        date(2027, 11, 1): "Ognissanti",
        date(2027, 12, 8): "Immacolata",
        date(2027, 12, 25): "Natale",
        date(2027, 12, 26): "Santo Stefano",
    },
}
ITALIAN_NAMES = {  # the word each Italian holiday name contains (holidays package, it_IT)
    "Capodanno": "Capodanno", "Epifania": "Epifania", "Pasquetta": "Angelo",
    "Liberazione": "Liberazione", "Festa del Lavoro": "Lavoro", "Festa della Repubblica": "Repubblica",
    "Ferragosto": "Assunzione", "San Francesco": "Francesco", "Ognissanti": "Ognissanti",
    "Immacolata": "Immacolata", "Natale": "Natale", "Santo Stefano": "Stefano",
}


def rome(*args: int) -> datetime:
    return datetime(*args, tzinfo=ROME)


def eod(day: date) -> datetime:
    """The end of a local day in Rome, in UTC: what every deadline looks like."""
    return datetime.combine(day, END_OF_DAY, tzinfo=ROME).astimezone(UTC)


def office(**calendar) -> WorkCalendar:
    return WorkCalendar(Calendar.model_validate(calendar))


@pytest.fixture(scope="module")
def italy() -> WorkCalendar:
    """The default calendar: Italian national holidays, sat/sun weekend, no closures."""
    return WorkCalendar(Calendar())


@pytest.fixture(scope="module")
def shipped() -> WorkCalendar:
    return WorkCalendar(load_rulebook(default_rules_dir()).calendar)


# --- national holidays --------------------------------------------------------------------------


@pytest.mark.parametrize("year", [2026, 2027])
def test_every_national_holiday_is_not_a_working_day(italy: WorkCalendar, year: int):
    for day, label in NATIONAL[year].items():
        assert not italy.is_working_day(day), (day, label)
        assert italy.holiday_name(day), (day, label)


@pytest.mark.parametrize("year", [2026, 2027])
def test_holiday_names_in_italian(year: int):
    cal = WorkCalendar(Calendar(), language="it")
    for day, label in NATIONAL[year].items():
        assert ITALIAN_NAMES[label] in cal.holiday_name(day), (day, cal.holiday_name(day))
    assert WorkCalendar(Calendar()).holiday_name(date(year, 12, 25)) == "Christmas Day"


@pytest.mark.parametrize("year", [2026, 2027])
def test_the_national_holidays_are_exactly_these(italy: WorkCalendar, year: int):
    """Apart from Easter Sunday and the Sunday-only National Unity Day, nothing else is a holiday."""
    named = italy.holidays_in(year)
    weekday_holidays = {d for d in named if d.weekday() < 5}
    assert weekday_holidays == {d for d in NATIONAL[year] if d.weekday() < 5}
    for extra in set(named) - set(NATIONAL[year]):
        assert extra.weekday() == 6, (extra, named[extra])  # only Sundays (Easter, 4 Nov's Sunday)


def test_ordinary_days_are_working_days(italy: WorkCalendar):
    year = 2026
    day = date(year, 1, 1)
    working = 0
    while day.year == year:
        expected = day.weekday() < 5 and day not in NATIONAL[year]
        assert italy.is_working_day(day) is expected, day
        if not italy.is_working_day(day):
            assert italy.holiday_name(day) is not None or day.weekday() >= 5, day
        working += expected
        day += timedelta(days=1)
    assert working == 254  # 261 weekdays in 2026 minus 7 weekday holidays
    assert italy.holiday_name(date(2026, 3, 7)) is None  # a plain Saturday has no name
    assert italy.holiday_name(date(2026, 3, 9)) is None


@pytest.mark.parametrize("day", [date(2026, 4, 3), date(2026, 12, 24), date(2026, 12, 31),
                                 date(2027, 3, 26), date(2027, 11, 2)])
def test_not_holidays_in_italy(italy: WorkCalendar, day: date):
    """Good Friday, Christmas Eve, New Year's Eve, All Souls' are working days unless closed."""
    assert italy.is_working_day(day)
    assert italy.holiday_name(day) is None


# --- Easter -------------------------------------------------------------------------------------


@pytest.mark.parametrize("year, monday", [(2026, date(2026, 4, 6)), (2027, date(2027, 3, 29)),
                                          (2028, date(2028, 4, 17))])
def test_easter_monday_per_year(italy: WorkCalendar, year: int, monday: date):
    assert easter_monday(year) == monday
    assert monday.weekday() == 0
    assert not italy.is_working_day(monday)
    assert "Easter Monday" in italy.holiday_name(monday)
    assert italy.is_working_day(monday + timedelta(days=1))  # the Tuesday after is a working day
    assert italy.is_working_day(monday - timedelta(days=3))  # Good Friday is a working day


def test_easter_algorithm_matches_the_holidays_package_for_a_century(italy: WorkCalendar):
    """Our own computation and the `holidays` package agree, so Pasquetta is never missing."""
    from dateutil.easter import easter

    for year in range(1950, 2101):
        assert easter_sunday(year) == easter(year), year
        assert not italy.is_working_day(easter_monday(year)), year
        assert "Easter Monday" in italy.holiday_name(easter_monday(year)), year


# --- the counting convention (module docstring examples) ----------------------------------------


@pytest.mark.parametrize("event, n, due", [
    (rome(2026, 3, 6, 16, 0), TRIAGE, date(2026, 3, 10)),     # Friday 16:00 -> Tuesday
    (rome(2026, 3, 7, 11, 0), TRIAGE, date(2026, 3, 10)),     # Saturday -> Tuesday
    (rome(2026, 3, 8, 23, 59), TRIAGE, date(2026, 3, 10)),    # Sunday -> Tuesday
    (rome(2026, 3, 9, 0, 0), TRIAGE, date(2026, 3, 11)),      # Monday midnight -> Wednesday
    (rome(2026, 3, 9, 9, 0), TRIAGE, date(2026, 3, 11)),      # Monday -> Wednesday
    (rome(2026, 3, 11, 17, 0), TRIAGE, date(2026, 3, 13)),    # Wednesday -> Friday
    (rome(2026, 3, 12, 17, 0), TRIAGE, date(2026, 3, 16)),    # Thursday -> Monday
    (rome(2026, 3, 9, 9, 0), REPORT, date(2026, 3, 16)),      # Monday + 5 -> next Monday
    (rome(2026, 3, 6, 16, 0), REPORT, date(2026, 3, 13)),     # Friday + 5 -> next Friday
    (rome(2026, 3, 7, 16, 0), REPORT, date(2026, 3, 13)),     # Saturday + 5 -> Friday
])
def test_deadlines_across_weekends(italy: WorkCalendar, event: datetime, n: int, due: date):
    deadline = italy.add_working_days(event, n, ROME)
    assert deadline == eod(due)
    assert deadline.tzinfo is UTC
    local = deadline.astimezone(ROME)
    assert (local.date(), local.hour, local.minute, local.second, local.microsecond) == (due, 23, 59, 59, 999000)
    assert italy.working_days_between(event, deadline, ROME) == n


@pytest.mark.parametrize("event, n, due", [
    (rome(2026, 4, 2, 10), TRIAGE, date(2026, 4, 7)),     # Thu; Fri 3 (1), Pasquetta 6, Tue 7 (2)
    (rome(2026, 4, 3, 10), TRIAGE, date(2026, 4, 8)),     # Good Friday; Tue 7, Wed 8
    (rome(2026, 4, 6, 10), TRIAGE, date(2026, 4, 8)),     # on Pasquetta itself: Tue 7, Wed 8
    (rome(2026, 4, 30, 10), TRIAGE, date(2026, 5, 5)),    # Thu; 1 May Fri, weekend; Mon 4, Tue 5
    (rome(2026, 6, 1, 10), TRIAGE, date(2026, 6, 4)),     # Mon; 2 June Tue; Wed 3, Thu 4
    (rome(2026, 1, 5, 10), TRIAGE, date(2026, 1, 8)),     # Mon; Epifania Tue 6; Wed 7, Thu 8
    (rome(2026, 12, 4, 10), TRIAGE, date(2026, 12, 9)),   # Fri; Mon 7 (1), Immacolata Tue 8, Wed 9
    (rome(2027, 10, 1, 10), TRIAGE, date(2027, 10, 6)),   # Fri; San Francesco Mon 4; Tue 5, Wed 6
    (rome(2027, 10, 29, 10), TRIAGE, date(2027, 11, 3)),  # Fri; Ognissanti Mon 1 Nov; Tue 2, Wed 3
    (rome(2027, 8, 13, 10), TRIAGE, date(2027, 8, 17)),   # Fri; Ferragosto is a Sunday in 2027
    (rome(2027, 4, 23, 10), TRIAGE, date(2027, 4, 27)),   # 25 April on a Sunday: no day added
    (rome(2026, 7, 31, 10), REPORT, date(2026, 8, 7)),    # no summer closure in the default calendar
])
def test_deadlines_across_holidays(italy: WorkCalendar, event: datetime, n: int, due: date):
    assert italy.add_working_days(event, n, ROME) == eod(due)


def test_year_end_2026_with_the_christmas_eve_closure(shipped: WorkCalendar, italy: WorkCalendar):
    # 24 Dec closure (shipped), 25 Natale, 26 Santo Stefano (Sat), 27 Sunday
    assert shipped.add_working_days(rome(2026, 12, 23, 15), TRIAGE, ROME) == eod(date(2026, 12, 29))
    assert italy.add_working_days(rome(2026, 12, 23, 15), TRIAGE, ROME) == eod(date(2026, 12, 28))
    # report: paid Mon 28 Dec: 29, 30, 31, (Capodanno Fri 1 Jan, weekend), Mon 4, Tue 5
    assert shipped.add_working_days(rome(2026, 12, 28, 9), REPORT, ROME) == eod(date(2027, 1, 5))
    # paid on 31 Dec: Mon 4 (1), Tue 5 (2), Epifania Wed 6, Thu 7 (3), Fri 8 (4), Mon 11 (5)
    assert shipped.add_working_days(rome(2026, 12, 31, 18), REPORT, ROME) == eod(date(2027, 1, 11))


def test_year_end_2027(italy: WorkCalendar):
    # 24 Dec 2027 is a Friday and an ordinary working day; Natale and Santo Stefano fall on the weekend
    assert italy.add_working_days(rome(2027, 12, 23, 15), TRIAGE, ROME) == eod(date(2027, 12, 27))
    # Fri 31 Dec 2027; Capodanno 2028 is a Saturday; Mon 3, Tue 4 Jan
    assert italy.add_working_days(rome(2027, 12, 31, 15), TRIAGE, ROME) == eod(date(2028, 1, 4))
    # Epifania 2028 is a Thursday
    assert italy.add_working_days(rome(2028, 1, 4, 15), TRIAGE, ROME) == eod(date(2028, 1, 7))


# --- timezone and daylight saving ---------------------------------------------------------------


def test_the_local_date_decides_not_the_utc_date(italy: WorkCalendar):
    # Sunday 4 Jan 2026, 23:30 UTC is Monday 5 Jan, 00:30 in Rome: counting starts after Monday
    # (Epifania Tue 6 skipped): Wed 7, Thu 8. Counting from the UTC date would give Wed 7.
    event = datetime(2026, 1, 4, 23, 30, tzinfo=UTC)
    assert italy.add_working_days(event, TRIAGE, ROME) == eod(date(2026, 1, 8))
    assert italy.add_working_days(event, TRIAGE, UTC) == datetime(2026, 1, 7, 23, 59, 59, 999000, tzinfo=UTC)
    # Friday 6 Mar, 23:30 UTC is already Saturday in Rome: still due Tuesday
    assert italy.add_working_days(datetime(2026, 3, 6, 23, 30, tzinfo=UTC), TRIAGE, ROME) == eod(date(2026, 3, 10))
    # the same instant in another zone gives the same deadline
    tokyo = datetime(2026, 3, 6, 16, tzinfo=ROME).astimezone(ZoneInfo("Asia/Tokyo"))
    assert italy.add_working_days(tokyo, TRIAGE, ROME) == eod(date(2026, 3, 10))


def test_deadlines_across_the_march_clock_change(italy: WorkCalendar):
    # 2026: clocks go forward on Sunday 29 March (CET +01 -> CEST +02)
    event = rome(2026, 3, 27, 16)  # Friday, CET
    deadline = italy.add_working_days(event, TRIAGE, ROME)
    assert deadline == datetime(2026, 3, 31, 21, 59, 59, 999000, tzinfo=UTC)  # end of Tue, CEST
    assert italy.add_working_days(rome(2026, 3, 26, 16), TRIAGE, ROME) == datetime(
        2026, 3, 30, 21, 59, 59, 999000, tzinfo=UTC)
    # the day before the change ends at 22:59:59.999Z (CET)
    assert italy.add_working_days(rome(2026, 3, 25, 16), TRIAGE, ROME) == datetime(
        2026, 3, 27, 22, 59, 59, 999000, tzinfo=UTC)
    # an event in the small hours of the changeover Sunday (01:30 UTC = 03:30 CEST)
    assert italy.add_working_days(datetime(2026, 3, 29, 1, 30, tzinfo=UTC), TRIAGE, ROME) == deadline
    # 2027: the change (28 March) is the weekend before Pasquetta (29 March)
    assert italy.add_working_days(rome(2027, 3, 26, 16), TRIAGE, ROME) == datetime(
        2027, 3, 31, 21, 59, 59, 999000, tzinfo=UTC)


def test_deadlines_across_the_october_clock_change(italy: WorkCalendar):
    # 2026: clocks go back on Sunday 25 October (CEST +02 -> CET +01)
    assert italy.add_working_days(rome(2026, 10, 23, 16), TRIAGE, ROME) == datetime(
        2026, 10, 27, 22, 59, 59, 999000, tzinfo=UTC)  # end of Tue 27, CET
    assert italy.add_working_days(rome(2026, 10, 22, 16), TRIAGE, ROME) == datetime(
        2026, 10, 26, 22, 59, 59, 999000, tzinfo=UTC)
    # Saturday 24 Oct 22:30 UTC is Sunday 00:30 CEST in Rome, the changeover day: still Tuesday
    assert italy.add_working_days(datetime(2026, 10, 24, 22, 30, tzinfo=UTC), TRIAGE, ROME) == datetime(
        2026, 10, 27, 22, 59, 59, 999000, tzinfo=UTC)
    # the ambiguous hour (02:30 happens twice) on the changeover day: both are Sunday
    first = datetime(2026, 10, 25, 2, 30, fold=0, tzinfo=ROME)
    second = datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=ROME)
    assert first.astimezone(UTC) != second.astimezone(UTC)
    assert italy.add_working_days(first, TRIAGE, ROME) == italy.add_working_days(second, TRIAGE, ROME)


def test_end_of_day_is_one_exact_instant():
    assert end_of_day(date(2026, 1, 15), ROME) == datetime(2026, 1, 15, 22, 59, 59, 999000, tzinfo=UTC)
    assert end_of_day(date(2026, 7, 15), ROME) == datetime(2026, 7, 15, 21, 59, 59, 999000, tzinfo=UTC)
    assert end_of_day(date(2026, 3, 29), ROME) == datetime(2026, 3, 29, 21, 59, 59, 999000, tzinfo=UTC)
    assert end_of_day(date(2026, 10, 25), ROME) == datetime(2026, 10, 25, 22, 59, 59, 999000, tzinfo=UTC)


def test_a_deadline_is_met_until_its_last_millisecond(italy: WorkCalendar):
    deadline = italy.add_working_days(rome(2026, 3, 6, 16), TRIAGE, ROME)
    assert rome(2026, 3, 10, 23, 59, 59) <= deadline
    assert rome(2026, 3, 11, 0, 0) > deadline


# --- the small helpers --------------------------------------------------------------------------


def test_next_and_previous_working_day(italy: WorkCalendar):
    assert italy.next_working_day(date(2026, 3, 6)) == date(2026, 3, 9)      # Fri -> Mon
    assert italy.next_working_day(date(2026, 3, 7)) == date(2026, 3, 9)      # Sat -> Mon
    assert italy.next_working_day(date(2026, 3, 9)) == date(2026, 3, 10)     # strictly after
    assert italy.next_working_day(date(2026, 4, 3)) == date(2026, 4, 7)      # over Pasquetta
    assert italy.next_working_day(date(2026, 12, 24)) == date(2026, 12, 28)  # over Natale
    assert italy.next_working_day(date(2027, 12, 31)) == date(2028, 1, 3)    # over the year end
    assert italy.previous_working_day(date(2026, 3, 9)) == date(2026, 3, 6)  # Mon -> Fri
    assert italy.previous_working_day(date(2026, 3, 8)) == date(2026, 3, 6)  # Sun -> Fri
    assert italy.previous_working_day(date(2026, 4, 7)) == date(2026, 4, 3)  # over Pasquetta
    assert italy.previous_working_day(date(2027, 1, 7)) == date(2027, 1, 5)  # over Epifania
    assert italy.previous_working_day(date(2027, 1, 4)) == date(2026, 12, 31)


def test_add_working_days_to_a_date(italy: WorkCalendar):
    assert italy.add_working_days_to_date(date(2026, 3, 6), 2) == date(2026, 3, 10)
    assert italy.add_working_days_to_date(date(2026, 3, 7), 0) == date(2026, 3, 7)
    assert italy.add_working_days_to_date(date(2026, 3, 10), -1) == date(2026, 3, 9)
    assert italy.add_working_days_to_date(date(2026, 3, 9), -1) == date(2026, 3, 6)
    assert italy.add_working_days_to_date(date(2026, 4, 7), -2) == date(2026, 4, 2)


def test_zero_and_negative_n(italy: WorkCalendar):
    assert italy.add_working_days(rome(2026, 3, 7, 10), 0, ROME) == eod(date(2026, 3, 7))
    # "the working day before the report deadline" (the specialist's reminder)
    deadline = italy.add_working_days(rome(2026, 3, 6, 16), REPORT, ROME)  # end of Fri 13 Mar
    assert italy.add_working_days(deadline, -1, ROME) == eod(date(2026, 3, 12))
    deadline = italy.add_working_days(rome(2026, 4, 1, 16), REPORT, ROME)  # end of Thu 9 Apr
    assert deadline == eod(date(2026, 4, 9))
    assert italy.add_working_days(rome(2026, 4, 8, 16), -1, ROME) == eod(date(2026, 4, 7))
    assert italy.add_working_days(rome(2026, 4, 7, 16), -1, ROME) == eod(date(2026, 4, 3))


def test_working_days_between(italy: WorkCalendar):
    between = italy.working_days_between
    assert between(rome(2026, 3, 9, 9), rome(2026, 3, 9, 18), ROME) == 0          # same day
    assert between(rome(2026, 3, 9, 18), rome(2026, 3, 9, 9), ROME) == 0
    assert between(rome(2026, 3, 9, 23), rome(2026, 3, 10, 0, 1), ROME) == 1      # times do not matter
    assert between(rome(2026, 3, 6, 16), rome(2026, 3, 9, 9), ROME) == 1          # Fri -> Mon
    assert between(rome(2026, 3, 6, 16), rome(2026, 3, 8, 9), ROME) == 0          # Fri -> Sun
    assert between(rome(2026, 3, 7, 16), rome(2026, 3, 8, 9), ROME) == 0          # Sat -> Sun
    assert between(rome(2026, 3, 2, 9), rome(2026, 3, 30, 9), ROME) == 20         # four weeks
    assert between(rome(2026, 3, 30, 9), rome(2026, 3, 2, 9), ROME) == -20        # backwards
    assert between(rome(2026, 3, 11, 9), rome(2026, 3, 10, 9), ROME) == -1        # a day late
    assert between(rome(2026, 4, 2, 9), rome(2026, 4, 9, 9), ROME) == 4           # Pasquetta skipped
    assert between(rome(2026, 12, 23, 9), rome(2027, 1, 8, 9), ROME) == 9         # 24,28-31,4,5,7,8
    assert between(rome(2026, 1, 1, 0), rome(2027, 1, 1, 0), ROME) == 254         # all of 2026
    # the local date decides: 23:30 UTC on Sunday is Monday in Rome
    assert between(rome(2026, 3, 6, 16), datetime(2026, 3, 8, 23, 30, tzinfo=UTC), ROME) == 1


@pytest.mark.parametrize("n", [1, 2, 3, 5, 10, 40])
def test_between_inverts_add_every_day_of_two_years(italy: WorkCalendar, n: int):
    day = date(2026, 1, 1)
    while day < date(2028, 1, 1):
        event = rome(day.year, day.month, day.day, 14)
        deadline = italy.add_working_days(event, n, ROME)
        assert italy.working_days_between(event, deadline, ROME) == n, day
        assert italy.is_working_day(deadline.astimezone(ROME).date()), day
        # the deadline day is the first day n working days away: the day before it is not
        assert italy.working_days_between(event, deadline - timedelta(days=1), ROME) == n - 1, day
        day += timedelta(days=1)


def test_status_of_a_deadline_seen_from_now(italy: WorkCalendar):
    deadline = italy.add_working_days(rome(2026, 3, 6, 16), TRIAGE, ROME)   # end of Tue 10
    assert italy.working_days_between(rome(2026, 3, 9, 8), deadline, ROME) == 1    # due tomorrow
    assert italy.working_days_between(rome(2026, 3, 10, 8), deadline, ROME) == 0   # due today
    assert italy.working_days_between(rome(2026, 3, 11, 8), deadline, ROME) == -1  # a day late
    assert italy.working_days_between(rome(2026, 3, 16, 8), deadline, ROME) == -4


# --- the office's own rules ---------------------------------------------------------------------


def test_closures_and_local_holidays():
    cal = office(closures=[{"date": date(2026, 12, 24), "reason": "Christmas Eve"},
                           {"from": date(2026, 8, 10), "to": date(2026, 8, 14), "reason": "Summer closure"},
                           {"from": date(2026, 12, 30), "to": date(2027, 1, 2), "reason": "Inventory"}],
                 local_holidays={"12-07": "Sant'Ambrogio", "06-24": "San Giovanni"})
    assert cal.holiday_name(date(2026, 12, 24)) == "Christmas Eve"
    for day in range(10, 15):
        assert not cal.is_working_day(date(2026, 8, day))
        assert cal.holiday_name(date(2026, 8, day)) == "Summer closure"
    assert cal.is_working_day(date(2026, 8, 7)) and cal.is_working_day(date(2026, 8, 17))
    # a closure across the year end counts in both years
    assert not cal.is_working_day(date(2026, 12, 31))
    assert cal.holiday_name(date(2027, 1, 1)) == "New Year's Day; Inventory"
    assert cal.is_working_day(date(2027, 1, 4))
    # local holidays come back every year, whatever the weekday
    for year in (2026, 2027, 2028):
        assert cal.holiday_name(date(year, 12, 7)) == "Sant'Ambrogio"
        assert not cal.is_working_day(date(year, 6, 24))
    # deadlines: paid Fri 7 Aug 2026 -> Mon 17 .. Fri 21 Aug (closure, then Ferragosto on Saturday)
    assert cal.add_working_days(rome(2026, 8, 7, 10), REPORT, ROME) == eod(date(2026, 8, 21))
    assert cal.add_working_days(rome(2026, 8, 6, 10), TRIAGE, ROME) == eod(date(2026, 8, 17))
    # complete Fri 4 Dec 2026: Mon 7 Sant'Ambrogio, Tue 8 Immacolata -> Wed 9, Thu 10
    assert cal.add_working_days(rome(2026, 12, 4, 10), TRIAGE, ROME) == eod(date(2026, 12, 10))
    assert cal.working_days_between(rome(2026, 8, 7, 10), rome(2026, 8, 21, 10), ROME) == 5


def test_extra_working_days_override_weekends_holidays_and_local_days():
    cal = office(extra_working_days=[date(2026, 3, 7), date(2026, 12, 7), date(2026, 4, 6)],
                 local_holidays={"12-07": "Sant'Ambrogio"})
    assert cal.is_working_day(date(2026, 3, 7))          # a Saturday the office opens
    assert cal.is_working_day(date(2026, 4, 6))          # Pasquetta worked
    assert cal.is_working_day(date(2026, 12, 7))         # local holiday worked
    assert cal.holiday_name(date(2026, 4, 6)) == "Easter Monday"  # still named
    assert not cal.is_working_day(date(2026, 3, 8))
    assert cal.add_working_days(rome(2026, 3, 6, 16), TRIAGE, ROME) == eod(date(2026, 3, 9))  # Sat 1, Mon 2
    assert cal.add_working_days(rome(2026, 3, 7, 9), TRIAGE, ROME) == eod(date(2026, 3, 10))  # own day not counted
    assert cal.next_working_day(date(2026, 3, 6)) == date(2026, 3, 7)


def test_another_weekend_and_a_province():
    cal = office(weekend=["fri", "sat"], subdivision="RM")
    assert cal.is_working_day(date(2026, 3, 8))          # Sunday works
    assert not cal.is_working_day(date(2026, 3, 6))      # Friday does not
    assert not cal.is_working_day(date(2026, 6, 29))     # Santi Pietro e Paolo, Rome's patrons
    assert WorkCalendar(Calendar()).is_working_day(date(2026, 6, 29))
    assert cal.add_working_days(rome(2026, 3, 5, 10), TRIAGE, ROME) == eod(date(2026, 3, 9))  # Sun 1, Mon 2
    assert not office(subdivision="MI").is_working_day(date(2026, 12, 7))


def test_another_country():
    cal = office(country="FR")
    assert not cal.is_working_day(date(2026, 7, 14))     # Fête nationale
    assert cal.is_working_day(date(2026, 6, 2))          # not the Festa della Repubblica
    assert cal.is_working_day(date(2028, 12, 26))        # no Santo Stefano in France (a Tuesday)


def test_cached_per_year_and_copies_are_safe(italy: WorkCalendar):
    first = italy.holidays_in(2026)
    first.clear()
    assert italy.holidays_in(2026)
    assert 2026 in italy._years


def test_default_calendar_is_italy_with_no_closures():
    default = Calendar()
    assert (default.country, default.subdivision, default.weekend) == ("IT", None, ("sat", "sun"))
    assert default.closures == () and default.extra_working_days == () and default.local_holidays == {}
    assert WorkCalendar().is_working_day(date(2026, 12, 24))
    assert not WorkCalendar().is_working_day(date(2026, 12, 25))


def test_the_shipped_calendar(shipped: WorkCalendar):
    assert shipped.holiday_name(date(2026, 12, 24)) == "Christmas Eve: office closed"
    assert shipped.holiday_name(date(2026, 8, 12)) == "Summer closure"
    assert shipped.holiday_name(date(2026, 12, 7)) == "Sant'Ambrogio (Milan)"
    assert shipped.holiday_name(date(2027, 12, 7)) == "Sant'Ambrogio (Milan)"
    assert shipped.is_working_day(date(2027, 12, 24))  # the closure was for 2026 only
    for year in NATIONAL:
        for day in NATIONAL[year]:
            assert not shipped.is_working_day(day), day
    # paid Fri 7 Aug 2026: the report is due after the summer closure
    assert shipped.add_working_days(rome(2026, 8, 7, 12), REPORT, ROME) == eod(date(2026, 8, 21))
    # complete Fri 4 Dec 2026: Sant'Ambrogio Mon 7, Immacolata Tue 8 -> Wed 9, Thu 10
    assert shipped.add_working_days(rome(2026, 12, 4, 12), TRIAGE, ROME) == eod(date(2026, 12, 10))


# --- misuse -------------------------------------------------------------------------------------


def test_naive_datetimes_and_datetimes_as_dates_are_refused(italy: WorkCalendar):
    with pytest.raises(ValueError, match="naive"):
        italy.add_working_days(datetime(2026, 3, 6, 16), TRIAGE, ROME)
    with pytest.raises(ValueError, match="naive"):
        italy.working_days_between(rome(2026, 3, 6, 16), datetime(2026, 3, 9), ROME)
    with pytest.raises(TypeError):
        italy.is_working_day(rome(2026, 3, 6, 16))
    with pytest.raises(TypeError):
        italy.next_working_day(datetime(2026, 3, 6, 16, tzinfo=UTC))
    with pytest.raises(TypeError):
        italy.add_working_days(date(2026, 3, 6), TRIAGE, ROME)


def test_a_calendar_with_no_working_day_left_fails_loudly():
    cal = office(closures=[{"from": date(2026, 1, 1), "to": date(2026, 12, 31), "reason": "closed"}],
                 weekend=["mon", "tue", "wed", "thu", "fri", "sat"])
    assert cal.next_working_day(date(2025, 12, 31)) == date(2027, 1, 3)  # the first Sunday after
    cal = office(weekend=["mon", "tue", "wed", "thu", "fri", "sat"],
                 closures=[{"from": date(2026, 1, 1) + timedelta(days=366 * k), "to": date(2026, 1, 1)
                            + timedelta(days=366 * k + 365), "reason": "closed"} for k in range(11)])
    with pytest.raises(ValueError, match="no working day"):
        cal.next_working_day(date(2025, 12, 31))
