"""Stand-in working-day arithmetic (weekends only) until the holiday calendar lands."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo


class WeekdayCalendar:
    def __init__(self, zone: ZoneInfo):
        self.zone = zone

    def add_working_days(self, start: datetime, n: int) -> datetime:
        day = start.astimezone(self.zone).date()
        added = 0
        while added < n:
            day += timedelta(days=1)
            if day.weekday() < 5:
                added += 1
        end = datetime.combine(day, time(23, 59, 59), tzinfo=self.zone)
        return end.astimezone(timezone.utc)
