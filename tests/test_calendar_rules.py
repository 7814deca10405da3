"""rules/calendar.toml: the shipped office calendar loads into `Rulebook.calendar`; the file is
optional; every mistake in a broken copy is reported with its file, line and key."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from test_rules import parsed

from mailbot.errors import RulesError
from mailbot.rulebook import check_rules, default_rules_dir, key_lines, load_rulebook
from mailbot.rulebook.models import Calendar, Closure

NAME = "calendar.toml"


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), target)
    return target


def edit(directory: Path, old: str, new: str) -> None:
    path = directory / NAME
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} should occur once in {NAME}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def line_with(directory: Path, needle: str) -> int:
    lines = (directory / NAME).read_text(encoding="utf-8").splitlines()
    found = [n for n, line in enumerate(lines, start=1) if needle in line]
    assert len(found) == 1, f"{needle!r} should be on one line of {NAME}, found {found}"
    return found[0]


def problems_of(directory: Path) -> list[dict]:
    problems = check_rules(directory)
    with pytest.raises(RulesError) as caught:
        load_rulebook(directory)
    assert caught.value.problems == problems
    return parsed(problems)


def only_problem(directory: Path) -> dict:
    problems = problems_of(directory)
    assert len(problems) == 1, problems
    problem = problems[0]
    assert problem["file"] == str(directory / NAME)
    return problem


# --- the shipped calendar -----------------------------------------------------------------------


def test_shipped_rules_with_calendar_are_valid():
    assert check_rules(default_rules_dir()) == []
    assert (default_rules_dir() / NAME).is_file()


def test_shipped_calendar_content():
    calendar = load_rulebook(default_rules_dir()).calendar
    assert calendar.country == "IT"
    assert calendar.subdivision is None
    assert calendar.weekend == ("sat", "sun")
    assert calendar.closures == (
        Closure(date=date(2026, 12, 24), reason="Christmas Eve: office closed"),
        Closure(**{"from": date(2026, 8, 10), "to": date(2026, 8, 14), "reason": "Summer closure"}),
    )
    assert calendar.closures[1].first == date(2026, 8, 10) and calendar.closures[1].last == date(2026, 8, 14)
    assert calendar.extra_working_days == ()
    assert calendar.local_holidays == {"12-07": "Sant'Ambrogio (Milan)"}


def test_shipped_calendar_is_commented_for_an_admin():
    text = (default_rules_dir() / NAME).read_text(encoding="utf-8")
    comments = [line for line in text.splitlines() if line.lstrip().startswith("#")]
    assert len(comments) >= 20
    for word in ("weekend", "closures", "extra_working_days", "local_holidays", "subdivision",
                 "Pasquetta", "mailbot rules check"):
        assert word in text


def test_key_lines_of_the_calendar():
    directory = default_rules_dir()
    lines = key_lines((directory / NAME).read_text(encoding="utf-8"))
    assert lines[("calendar", "country")] == line_with(directory, 'country = "IT"')
    assert lines[("calendar", "closures", 1, "from")] == line_with(directory, "from = 2026-08-10")
    assert lines[("calendar", "local_holidays", "12-07")] == line_with(directory, '"12-07"')


def test_calendar_file_is_optional(rules_copy: Path):
    (rules_copy / NAME).unlink()
    assert check_rules(rules_copy) == []
    assert load_rulebook(rules_copy).calendar == Calendar()


def test_a_minimal_calendar_file(rules_copy: Path):
    (rules_copy / NAME).write_text("[calendar]\n", encoding="utf-8")
    assert load_rulebook(rules_copy).calendar == Calendar()


def test_other_spellings_are_accepted(rules_copy: Path):
    (rules_copy / NAME).write_text(
        '[calendar]\ncountry = "it"\nsubdivision = "mi"\nweekend = ["Saturday", "SUN"]\n'
        'extra_working_days = [2026-03-07]\n\n'
        "[[calendar.closures]]\nfrom = 2026-12-28\nto = 2026-12-31\nreason = \"Winter\"\n", encoding="utf-8")
    calendar = load_rulebook(rules_copy).calendar
    assert (calendar.country, calendar.subdivision, calendar.weekend) == ("IT", "MI", ("sat", "sun"))
    assert calendar.closures[0].last == date(2026, 12, 31)
    assert calendar.extra_working_days == (date(2026, 3, 7),)


def test_rulebook_without_calendar_gets_the_default():
    from small_rules import small_rulebook

    assert small_rulebook().calendar == Calendar()


# --- broken copies ------------------------------------------------------------------------------


def test_date_that_does_not_exist(rules_copy: Path):
    edit(rules_copy, "{ date = 2026-12-24,", "{ date = 2026-02-30,")
    problem = only_problem(rules_copy)
    assert problem["line"] == line_with(rules_copy, "2026-02-30")
    assert problem["key"] == "calendar"
    assert "TOML syntax error" in problem["what"]


def test_date_written_as_a_bad_string(rules_copy: Path):
    edit(rules_copy, "{ date = 2026-12-24,", '{ date = "2026-13-01",')
    problem = only_problem(rules_copy)
    assert problem["line"] == line_with(rules_copy, "2026-13-01")
    assert problem["key"] == "calendar.closures[0].date"
    assert "month" in problem["what"]


def test_date_with_a_time(rules_copy: Path):
    edit(rules_copy, "{ date = 2026-12-24,", "{ date = 2026-12-24T10:00:00,")
    problem = only_problem(rules_copy)
    assert (problem["key"], problem["line"]) == ("calendar.closures[0].date", line_with(rules_copy, "T10:00"))
    assert "without a time" in problem["what"]


def test_unknown_weekday(rules_copy: Path):
    edit(rules_copy, 'weekend = ["sat", "sun"]', 'weekend = ["sat", "sab"]')
    problem = only_problem(rules_copy)
    assert problem["key"] == "calendar.weekend[1]"
    assert problem["line"] == line_with(rules_copy, '"sab"')
    assert "unknown weekday 'sab'" in problem["what"] and "mon, tue" in problem["what"]


def test_weekend_of_every_day(rules_copy: Path):
    edit(rules_copy, 'weekend = ["sat", "sun"]', 'weekend = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]')
    problem = only_problem(rules_copy)
    assert (problem["key"], problem["line"]) == ("calendar.weekend", line_with(rules_copy, "weekend = "))
    assert "no working day" in problem["what"]


def test_weekday_twice(rules_copy: Path):
    edit(rules_copy, 'weekend = ["sat", "sun"]', 'weekend = ["sat", "sun", "saturday"]')
    assert only_problem(rules_copy)["key"] == "calendar.weekend"


def test_from_after_to(rules_copy: Path):
    edit(rules_copy, "from = 2026-08-10, to = 2026-08-14", "from = 2026-08-14, to = 2026-08-10")
    problem = only_problem(rules_copy)
    assert problem["key"] == "calendar.closures[1].to"
    assert problem["line"] == line_with(rules_copy, "from = 2026-08-14")
    assert "before from (2026-08-14)" in problem["what"] and "swap" in problem["what"]


def test_closure_range_of_years_is_a_typo(rules_copy: Path):
    edit(rules_copy, "to = 2026-08-14", "to = 2062-08-14")
    problem = only_problem(rules_copy)
    assert problem["key"] == "calendar.closures[1].to"
    assert "longer than a year" in problem["what"]


def test_closure_with_half_a_range_or_both_shapes(rules_copy: Path):
    edit(rules_copy, "from = 2026-08-10, to = 2026-08-14,", "from = 2026-08-10,")
    problem = only_problem(rules_copy)
    assert (problem["key"], problem["line"]) == ("calendar.closures[1]", line_with(rules_copy, "2026-08-10"))
    assert "both from" in problem["what"]
    edit(rules_copy, "from = 2026-08-10,", "date = 2026-08-09, from = 2026-08-10, to = 2026-08-14,")
    assert "not both" in only_problem(rules_copy)["what"]
    edit(rules_copy, "date = 2026-08-09, from = 2026-08-10, to = 2026-08-14,", "")
    assert "no day given" in only_problem(rules_copy)["what"]


def test_closure_without_reason(rules_copy: Path):
    edit(rules_copy, ', reason = "Summer closure"', "")
    problem = only_problem(rules_copy)
    assert (problem["key"], problem["line"]) == ("calendar.closures[1].reason", line_with(rules_copy, "2026-08-10"))
    assert "missing" in problem["what"]


def test_unknown_key_in_a_closure(rules_copy: Path):
    edit(rules_copy, 'reason = "Summer closure"', 'reason = "Summer closure", until = 2026-08-15')
    problem = only_problem(rules_copy)
    assert (problem["key"], problem["line"]) == ("calendar.closures[1].until", line_with(rules_copy, "until"))
    assert "unknown key" in problem["what"] and "date, from, to, reason" in problem["what"]


def test_unknown_country(rules_copy: Path):
    edit(rules_copy, 'country = "IT"', 'country = "XX"')
    problem = only_problem(rules_copy)
    assert (problem["key"], problem["line"]) == ("calendar.country", line_with(rules_copy, 'country = "XX"'))
    assert "unknown country code 'XX'" in problem["what"]


def test_country_misspelt(rules_copy: Path):
    edit(rules_copy, 'country = "IT"', 'country = "I"')
    problem = only_problem(rules_copy)
    assert problem["key"] == "calendar.country"
    assert "did you mean" in problem["what"]


def test_unknown_subdivision(rules_copy: Path):
    edit(rules_copy, '# subdivision = "MI"', 'subdivision = "ZZ"')
    problem = only_problem(rules_copy)
    assert (problem["key"], problem["line"]) == ("calendar.subdivision", line_with(rules_copy, 'subdivision = "ZZ"'))
    assert "unknown subdivision 'ZZ' for country IT" in problem["what"]


def test_bad_local_holiday(rules_copy: Path):
    edit(rules_copy, '"12-07" = ', '"13-07" = ')
    problem = only_problem(rules_copy)
    assert (problem["key"], problem["line"]) == ("calendar.local_holidays.13-07", line_with(rules_copy, '"13-07"'))
    assert "MM-DD" in problem["what"]


def test_local_holiday_without_a_name(rules_copy: Path):
    edit(rules_copy, '"12-07" = "Sant\'Ambrogio (Milan)"', '"12-07" = ""')
    problem = only_problem(rules_copy)
    assert (problem["key"], problem["line"]) == ("calendar.local_holidays.12-07", line_with(rules_copy, '"12-07"'))


def test_unknown_key(rules_copy: Path):
    edit(rules_copy, "extra_working_days = []", "extra_working_days = []\nholidays = [2026-12-25]")
    problem = only_problem(rules_copy)
    assert (problem["key"], problem["line"]) == ("calendar.holidays", line_with(rules_copy, "holidays = [2026"))
    assert "unknown key" in problem["what"] and "extra_working_days" in problem["what"]


def test_unknown_table(rules_copy: Path):
    (rules_copy / NAME).write_text('[calendr]\ncountry = "IT"\n', encoding="utf-8")
    problems = problems_of(rules_copy)
    keys = {(p["key"], p["line"]) for p in problems}
    assert ("calendr", 1) in keys
    assert any(p["key"] == "calendar" and "no [calendar] table" in p["what"] for p in problems)


def test_extra_working_day_inside_a_closure_or_twice(rules_copy: Path):
    edit(rules_copy, "extra_working_days = []", "extra_working_days = [2026-08-12, 2026-03-07, 2026-03-07]")
    problems = problems_of(rules_copy)
    line = line_with(rules_copy, "extra_working_days = [2026-08-12")
    assert [(p["key"], p["line"]) for p in problems] == [
        ("calendar.extra_working_days[0]", line), ("calendar.extra_working_days[2]", line)]
    assert "inside closure 2 ('Summer closure', line " in problems[0]["what"]
    assert "listed twice" in problems[1]["what"]


def test_extra_working_days_on_their_own_lines(rules_copy: Path):
    edit(rules_copy, "extra_working_days = []", 'extra_working_days = [\n  2026-03-07,\n  "2026-02-31",\n]')
    problem = only_problem(rules_copy)
    assert (problem["key"], problem["line"]) == ("calendar.extra_working_days[1]", line_with(rules_copy, "2026-02-31"))


def test_array_of_tables_closures_point_at_their_lines(rules_copy: Path):
    (rules_copy / NAME).write_text(
        "[calendar]\n\n[[calendar.closures]]\ndate = 2026-12-24\nreason = \"Eve\"\n\n"
        "[[calendar.closures]]\nfrom = 2026-08-14\nto = 2026-08-10\nreason = \"Summer\"\n", encoding="utf-8")
    problem = only_problem(rules_copy)
    assert (problem["key"], problem["line"]) == ("calendar.closures[1].to", 9)


def test_not_utf8(rules_copy: Path):
    (rules_copy / NAME).write_bytes(b'[calendar]\n[calendar.local_holidays]\n"12-07" = "Sant\xe8 Ambrogio"\n')
    problem = only_problem(rules_copy)
    assert (problem["key"], problem["line"]) == ("calendar", 3)
    assert "UTF-8" in problem["what"]


def test_calendar_problems_are_reported_with_the_other_files(rules_copy: Path):
    edit(rules_copy, 'weekend = ["sat", "sun"]', 'weekend = ["sat", "dom"]')
    path = rules_copy / "pricing.toml"
    text = path.read_text(encoding="utf-8")
    assert text.count("amount = 300.00") == 1
    path.write_text(text.replace("amount = 300.00", "amount = -300.00"), encoding="utf-8")
    files = sorted({Path(p["file"]).name for p in problems_of(rules_copy)})
    assert files == ["calendar.toml", "pricing.toml"]
