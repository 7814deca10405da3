"""Working days and working-day deadlines over the office calendar (`rules/calendar.toml`).

Pure: no clock, no I/O. Everything is computed from a `Calendar` (the validated `[calendar]`
table, `Rulebook.calendar`) and the times the caller passes in.

    cal = WorkCalendar(rulebook.calendar)
    due = cal.add_working_days(completed_at, 2, ZoneInfo("Europe/Rome"))   # triage deadline (UTC)
    left = cal.working_days_between(clock.now(), due, tz)                   # 1, 0 = due today, <0 late

What is a working day
---------------------
A date is a working day unless it is (1) a `weekend` day, (2) a public holiday of the
calendar's `country` / `subdivision` per the `holidays` package, (3) a recurring
`local_holidays` month-day, or (4) inside one of the `closures`. A date listed in
`extra_working_days` is a working day whatever (1)-(4) say.

For Italy the public holidays are Capodanno (1 Jan), Epifania (6 Jan), Pasqua and Pasquetta
(Easter Monday, computed per year: 2026-04-06, 2027-03-29, 2028-04-17), Liberazione (25 Apr),
Festa del Lavoro (1 May), Festa della Repubblica (2 Jun), Ferragosto (15 Aug), San Francesco
d'Assisi (4 Oct, a national holiday again from 2026, law 151/2025), Ognissanti (1 Nov),
Immacolata (8 Dec), Natale (25 Dec) and Santo Stefano (26 Dec). Good Friday and 24 December are
ordinary working days unless the office closes (the shipped calendar closes 2026-12-24).

How deadlines count
-------------------
Dates are LOCAL dates in the office timezone `tz` (Europe/Rome): an event at 23:30 UTC on a
Sunday in winter happened on Monday in Rome. The day of the event never counts, working or not;
the deadline is the END of the n-th working day after it, 23:59:59.999 local time, returned as an
aware UTC datetime. So an event on a non-working day starts counting from the next working day,
and for n=2 (triage), with the Italian calendar and a sat/sun weekend:

    complete Friday 2026-03-06 16:00        -> due end of Tuesday 2026-03-10   (Mon 1, Tue 2)
    complete Saturday 2026-03-07            -> due end of Tuesday 2026-03-10   (Mon 1, Tue 2)
    complete Monday 2026-03-09 09:00        -> due end of Wednesday 2026-03-11
    complete Wednesday 2026-12-23           -> due end of Tuesday 2026-12-29   (24 Dec closure,
                                               25 Natale, 26 Santo Stefano, 27 Sunday)
    complete Thursday 2026-04-02            -> due end of Tuesday 2026-04-07   (Pasquetta 6 Apr)
    complete Friday 2027-03-26              -> due end of Wednesday 2027-03-31 (Pasquetta 29 Mar;
                                               the clocks went forward on Sunday 28 Mar)

and for n=5 (report), paid Monday 2026-12-28 -> due end of Tuesday 2027-01-05 (29, 30, 31 Dec,
1 Jan Capodanno skipped, 4, 5 Jan). The end of a day never falls in a DST gap or overlap (Italy
changes clocks at 02:00/03:00 on the last Sunday of March and October), so it is always one
exact instant: 22:59:59.999Z in winter (CET), 21:59:59.999Z in summer (CEST).

n = 0 means the end of the event's own local day; a negative n counts backwards (the n-th working
day before). `working_days_between(start, end)` is the inverse: the working days after start's
local date up to and including end's local date (negative when end is earlier), so
`working_days_between(t, add_working_days(t, n)) == n` for every n >= 1, and for a deadline it
reads 1 = due tomorrow (next working day), 0 = due today, -1 = one working day late.

All datetimes passed in must be timezone-aware (a naive one raises ValueError); `date` arguments
must be plain dates, not datetimes (a datetime raises TypeError: convert it with
`.astimezone(tz).date()` first, so the timezone is never guessed).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone, tzinfo

from mailbot.rulebook.models import WEEKDAYS, Calendar, Rulebook

END_OF_DAY = time(23, 59, 59, 999000)  # a deadline is the end of its day: 23:59:59.999 local
MAX_SEARCH_DAYS = 3700  # no working day in ~10 years means the calendar is unusable
_LANGUAGES = {"en": "en_US", "it": "it_IT"}
_EASTER_MONDAY = {"en": "Easter Monday", "it": "Lunedì dell'Angelo"}


def easter_sunday(year: int) -> date:
    """Gregorian Easter Sunday (the Anonymous Gregorian / Meeus-Jones-Butcher algorithm)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l = (32 + 2 * e + 2 * i - h - k) % 7  # noqa: E741 (the algorithm's name)
    m = (a + 11 * h + 22 * l) // 451
    month, day = divmod(h + l - 7 * m + 114, 31)
    return date(year, month, day + 1)


def easter_monday(year: int) -> date:
    """Pasquetta: the day after Easter Sunday (2026-04-06, 2027-03-29, 2028-04-17)."""
    return easter_sunday(year) + timedelta(days=1)


def end_of_day(day: date, tz: tzinfo) -> datetime:
    """23:59:59.999 local time on `day` in `tz`, as an aware UTC datetime."""
    _plain_date(day)
    return datetime.combine(day, END_OF_DAY, tzinfo=tz).astimezone(timezone.utc)


class WorkCalendar:
    """Working days of one office calendar. Holiday lookups are computed once per year and cached.

    `language` ("en" or "it") picks the language of the public-holiday names `holiday_name`
    returns; closure reasons and local holiday names are shown as written in calendar.toml.
    See the module docstring for the counting convention.
    """

    def __init__(self, calendar: Calendar | None = None, *, language: str = "en"):
        self.calendar = calendar if calendar is not None else Calendar()
        self.language = language if language in _LANGUAGES else "en"
        self._weekend = frozenset(WEEKDAYS.index(day) for day in self.calendar.weekend)
        self._extra = frozenset(self.calendar.extra_working_days)
        self._years: dict[int, dict[date, str]] = {}

    @classmethod
    def from_rulebook(cls, rulebook: Rulebook, *, language: str = "en") -> "WorkCalendar":
        return cls(rulebook.calendar, language=language)

    # --- single days ----------------------------------------------------------------------------

    def holidays_in(self, year: int) -> dict[date, str]:
        """Every named non-working date of `year` (public and local holidays, closures; not plain
        weekends), with its name(s) joined by "; ". A copy: changing it changes nothing."""
        return dict(self._year(year))

    def holiday_name(self, day: date) -> str | None:
        """The holiday or closure on `day` ("Natale", "Summer closure", "Sant'Ambrogio (Milan)";
        several joined by "; "), or None on an ordinary day or a plain weekend day. The name is
        returned even when `extra_working_days` makes the office work that day."""
        _plain_date(day)
        return self._year(day.year).get(day)

    def is_working_day(self, day: date) -> bool:
        """False on weekend days, holidays, local holidays and closures, unless `day` is one of
        the `extra_working_days`."""
        _plain_date(day)
        if day in self._extra:
            return True
        return day.weekday() not in self._weekend and day not in self._year(day.year)

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day` (Friday -> Monday)."""
        return self._step(day, 1)

    def previous_working_day(self, day: date) -> date:
        """The last working day strictly before `day` (Monday -> Friday)."""
        return self._step(day, -1)

    def add_working_days_to_date(self, day: date, n: int) -> date:
        """The n-th working day after `day` (`day` itself never counts; n=0 returns `day`; n<0
        counts back: -1 is the working day before, e.g. for "remind the day before the deadline")."""
        _plain_date(day)
        step = 1 if n >= 0 else -1
        for _ in range(abs(n)):
            day = self._step(day, step)
        return day

    # --- deadlines ------------------------------------------------------------------------------

    def add_working_days(self, start: datetime, n: int, tz: tzinfo) -> datetime:
        """The deadline n working days after the event at `start`: the end (23:59:59.999 local) of
        the n-th working day after start's LOCAL date in `tz`, as an aware UTC datetime.

        The event's own day never counts, so an event on a weekend or holiday starts counting at
        the next working day: with n=2, Friday 16:00 and Saturday both give the end of Tuesday.
        n=0 is the end of the event's own local day; n<0 counts working days backwards.
        """
        local = _aware(start, "start").astimezone(tz).date()
        return end_of_day(self.add_working_days_to_date(local, n), tz)

    def working_days_between(self, start: datetime, end: datetime, tz: tzinfo) -> int:
        """Working days after start's local date up to and including end's local date in `tz`;
        negative (the same count, backwards) when end's local date is before start's; 0 on the
        same local date. Times of day do not matter, only local dates.

        `working_days_between(event, add_working_days(event, n, tz), tz) == n` for n >= 1; with
        now and a deadline: 1 = due the next working day, 0 = due today, -1 = a working day late.
        """
        first = _aware(start, "start").astimezone(tz).date()
        last = _aware(end, "end").astimezone(tz).date()
        sign = 1
        if last < first:
            first, last, sign = last, first, -1
        count = 0
        day = first
        while day < last:
            day += timedelta(days=1)
            count += self.is_working_day(day)
        return sign * count

    # --- internals ------------------------------------------------------------------------------

    def _step(self, day: date, direction: int) -> date:
        _plain_date(day)
        for _ in range(MAX_SEARCH_DAYS):
            day += timedelta(days=direction)
            if self.is_working_day(day):
                return day
        raise ValueError(f"no working day within {MAX_SEARCH_DAYS} days of {day}; check calendar.toml")

    def _year(self, year: int) -> dict[date, str]:
        cached = self._years.get(year)
        if cached is None:
            cached = self._years[year] = self._build_year(year)
        return cached

    def _build_year(self, year: int) -> dict[date, str]:
        import holidays  # a large package: load it when a calendar is first used

        names: dict[date, list[str]] = {}

        def add(day: date, name: str) -> None:
            if name not in names.setdefault(day, []):
                names[day].append(name)

        cal = self.calendar
        public = holidays.country_holidays(cal.country, subdiv=cal.subdivision, years=year,
                                           language=self._holiday_language(holidays))
        for day, name in public.items():
            add(day, name)
        if cal.country == "IT" and year >= 1947 and easter_monday(year) not in names:
            add(easter_monday(year), _EASTER_MONDAY[self.language])  # kept even if `holidays` drops it
        for month_day, name in cal.local_holidays.items():
            month, dom = (int(part) for part in month_day.split("-"))
            try:
                add(date(year, month, dom), name)
            except ValueError:  # 02-29 outside leap years
                pass
        for closure in cal.closures:
            day = max(closure.first, date(year, 1, 1))
            while day <= closure.last and day.year == year:
                add(day, closure.reason)
                day += timedelta(days=1)
        return {day: "; ".join(found) for day, found in sorted(names.items())}

    def _holiday_language(self, holidays_module) -> str | None:
        if not hasattr(self, "_language_code"):
            wanted = _LANGUAGES[self.language]
            supported = holidays_module.country_holidays(self.calendar.country).supported_languages
            self._language_code = wanted if wanted in supported else None
        return self._language_code


def _aware(moment: datetime, name: str) -> datetime:
    if not isinstance(moment, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} is a naive datetime; pass an aware one (e.g. clock.now())")
    return moment


def _plain_date(day: date) -> None:
    if isinstance(day, datetime) or not isinstance(day, date):
        raise TypeError(f"expected a date, got {type(day).__name__}; use moment.astimezone(tz).date()")
