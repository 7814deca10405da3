from decimal import Decimal

import pytest

from mailbot.rulebook import default_rules_dir, load_rulebook
from mailbot.workflow.assignment import choose_specialist
from mailbot.workflow.commands import first_line, parse_amount, parse_command
from mailbot.workflow.pricing import quote

RULES = load_rulebook(default_rules_dir())


@pytest.mark.parametrize("update,courier,total", [(False, False, "500.00"), (True, False, "350.00"),
                                                  (False, True, "518.00"), (True, True, "368.00")])
def test_price_variants(update, courier, total):
    assert quote(RULES, is_update_same_specialist=update, courier=courier).total == Decimal(total)


def pick(**kw):
    defaults = dict(condition_id="breast_cancer", specialty=None, language="en", open_cases={})
    member = choose_specialist(RULES, **{**defaults, **kw})
    return str(member.email) if member else None


def test_routing_by_specialty_language_and_load():
    assert pick() == "giulia.romano@example.org"                      # first matching, all idle
    assert pick(specialty="radiation_oncology") == "luca.ricci@example.org"
    assert pick(open_cases={"giulia.romano@example.org": 3, "elena.ferrari@example.org": 1,
                            "luca.ricci@example.org": 2}) == "elena.ferrari@example.org"
    assert pick(open_cases={"giulia.romano@example.org": 12}) != "giulia.romano@example.org"  # at max_open_cases
    assert pick(condition_id="brain_tumour", language="en") == "luca.ricci@example.org"  # neuro ones speak it only
    assert pick(condition_id="brain_tumour", language="it") == "alessandro.conti@example.org"
    assert pick(excluded=("giulia.romano@example.org", "elena.ferrari@example.org", "luca.ricci@example.org")) is None
    assert pick(previous="elena.ferrari@example.org") == "elena.ferrari@example.org"   # an update: same doctor
    assert pick(previous="elena.ferrari@example.org", open_cases={"elena.ferrari@example.org": 15}) \
        == "giulia.romano@example.org"


def test_commands_are_read_from_the_first_unquoted_line():
    body = "\n\nAPPROVE surgical breast_surgery\n\n--\nDr Rinaldi\n\nIl giorno lun 23 nov 2026 alle 10:00 IEO ha scritto:\n> MISSING: x"
    assert first_line(body) == "APPROVE surgical breast_surgery"
    cmd = parse_command(first_line(body))
    assert cmd.verb == "APPROVE" and cmd.args == ("surgical", "breast_surgery")
    assert parse_command("Reject: not an oncological question").text == "not an oncological question"
    assert parse_command("Thank you doctor") is None
    assert parse_command("PAID EUR 1.018,00").args == ("1018.00",)
    assert parse_amount("five hundred") is None
