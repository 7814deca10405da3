"""The state table is consistent: every effect it names exists, every template it names exists
in every language, and a missing template stops the start naming the file."""

from __future__ import annotations

import shutil

import pytest

from mailbot.replies.render import Renderer, TemplateMissing
from mailbot.resources import templates_dir
from mailbot.workflow.effects import EFFECTS
from mailbot.workflow.transitions import TABLE, Refused, State, Verb, Role, table_templates, transition_for


def test_every_effect_of_the_table_exists_and_every_effect_is_used():
    named = {e for row in TABLE.values() for e in row.effects}
    assert named <= set(EFFECTS)
    assert set(EFFECTS) <= named, set(EFFECTS) - named


def test_the_shipped_templates_cover_the_table_in_both_languages():
    Renderer(templates_dir(), office_name="O", office_address="o@example.org").check_templates(
        table_templates(), ("en", "it"))


def test_a_missing_template_is_named_at_start(tmp_path):
    copy = tmp_path / "templates"
    shutil.copytree(templates_dir(), copy)
    (copy / "requestor" / "payment_request.it.txt.j2").unlink()
    renderer = Renderer(copy, office_name="O", office_address="o@example.org")
    with pytest.raises(TemplateMissing) as err:
        renderer.check_templates(table_templates(), ("en", "it"))
    assert str(copy / "requestor" / "payment_request.it.txt.j2") in str(err.value)
    renderer.check_templates(table_templates(), ("en",))   # an English-only office does not need it


def test_refusals_say_whether_the_role_or_the_state_is_wrong():
    assert transition_for(State.IN_TRIAGE, Verb.APPROVE, Role.TRIAGE).next_state == State.AWAITING_PAYMENT
    assert transition_for(State.AWAITING_PAYMENT, Verb.APPROVE, Role.TRIAGE) == Refused("state")
    assert transition_for(State.IN_TRIAGE, Verb.APPROVE, Role.ADMIN) == Refused("role")
    assert transition_for("in_triage", "CANCEL", "patient").next_state == State.CANCELLED   # stored strings work


def test_states_roles_and_verbs_are_their_stored_strings():
    assert State.WITH_SPECIALIST == "with_specialist" and f"{State.IN_TRIAGE}" == "in_triage"
    assert Role.SPECIALIST == "specialist" and Verb.PAID == "PAID"


def test_a_language_without_templates_stops_the_start_with_one_line(tmp_path, capsys):
    from mailbot.cli import main
    from test_cli import local_config
    config = local_config(tmp_path)
    config.write_text(config.read_text().replace('address = "second', 'languages = ["en", "it", "de"]\naddress = "second'))
    assert main(["--config", str(config), "cases"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and ".de.txt.j2" in err and "'de'" in err
