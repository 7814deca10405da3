"""Inputs checked before they can do harm: the IBAN and BIC every paying patient is shown, the
office address, `cases --state` (only real states), `--version`, and help for every argument."""

from __future__ import annotations

import argparse

import pytest

from mailbot import __version__
from mailbot.cli.main import _parser, main
from mailbot.config import load_config
from mailbot.errors import ConfigError
from mailbot.workflow.model import CLOSED_STATES, OPEN_STATES
from test_cli import local_config

GOOD_IBAN = "IT60X0542811101000000123456"


def config_with(tmp_path, old: str, new: str):
    path = local_config(tmp_path)
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


@pytest.mark.parametrize("iban", ["IT61X0542811101000000123456",    # a check digit off by one
                                  "IT60X0542811101000000123465",    # two digits swapped
                                  "IT60X054281110100000012345",     # one digit short
                                  "XX60X0542811101000000123456"])   # no such country
def test_a_mistyped_iban_stops_the_start_naming_payment_iban(tmp_path, capsys, iban):
    path = config_with(tmp_path, GOOD_IBAN, iban)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "payment.iban" in str(caught.value) and iban in str(caught.value)
    assert main(["--config", str(path), "once"]) == 2
    assert "payment.iban" in capsys.readouterr().err


def test_an_iban_written_in_groups_is_accepted_and_shown_compact(tmp_path):
    path = config_with(tmp_path, GOOD_IBAN, "IT60 X054 2811 1010 0000 0123 456")
    assert load_config(path).payment.iban == GOOD_IBAN


@pytest.mark.parametrize("bic", ["BPMOXX22XXX", "BPMOIT2", "BPMO-IT22"])
def test_a_bad_bic_names_payment_bic(tmp_path, bic):
    path = config_with(tmp_path, '"BPMOIT22XXX"', f'"{bic}"')
    with pytest.raises(ConfigError, match="payment.bic"):
        load_config(path)


@pytest.mark.parametrize("address", ["second.opinion@", "second.opinion@hospital", "Office <so@hospital.example.org>",
                                     "so@@hospital.example.org"])
def test_the_office_address_must_be_an_email_address(tmp_path, address):
    path = config_with(tmp_path, "second.opinion@hospital.example.org", address)
    with pytest.raises(ConfigError, match="office.address"):
        load_config(path)


def test_cases_state_accepts_only_real_states(tmp_path, capsys):
    config = local_config(tmp_path)
    with pytest.raises(SystemExit) as caught:
        main(["--config", str(config), "cases", "--state", "bogus"])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "bogus" in err and all(state in err for state in (*OPEN_STATES, *CLOSED_STATES))
    assert main(["--config", str(config), "cases", "--state", "in_triage"]) == 0
    assert capsys.readouterr().out.strip() == "no cases in state in_triage"


def test_version(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["--version"])
    assert caught.value.code == 0
    assert capsys.readouterr().out.strip() == f"mailbot {__version__}"


def parsers(parser: argparse.ArgumentParser, path: str = "mailbot"):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from parsers(child, f"{path} {name}")


def test_every_argument_has_help():
    missing = [f"{path}: {action.dest}" for path, parser in parsers(_parser()) for action in parser._actions
               if not action.help or action.help == argparse.SUPPRESS]
    assert missing == []
