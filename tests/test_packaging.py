"""The package carries its own files: packaged templates and default rules, an office's own
wording in `[templates] dir` (file by file), every sendable template tried at start, and
`mailbot rules init` / `rules check` on exactly the folder asked for."""

from __future__ import annotations

import mailbox
import shutil
from pathlib import Path

import pytest

from mailbot.cli import main
from mailbot.resources import default_rules_dir, templates_dir
from office import patient_mail
from test_cli import LOCAL_CONFIG, local_config

INFO_MAIL = patient_mail("Maria <maria@example.net>", "Info", "How can I ask for a second opinion?")


def office_wording(tmp_path: Path) -> tuple[Path, Path]:
    """A config whose [templates] dir holds one file: the English instructions, reworded."""
    wording = tmp_path / "wording"
    (wording / "requestor").mkdir(parents=True)
    packaged = (templates_dir() / "requestor" / "instructions.en.txt.j2").read_text(encoding="utf-8")
    (wording / "requestor" / "instructions.en.txt.j2").write_text(
        packaged.replace("\n", "\nWelcome to the Example Hospital office.\n", 1), encoding="utf-8")
    return local_config(tmp_path, f'\n[templates]\ndir = "{wording}"\n'), wording


def one_error_line(capsys) -> str:
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1, err
    return err[0]


def test_the_packaged_files_are_inside_the_package():
    package = Path(__import__("mailbot").__file__).parent
    assert templates_dir() == package / "templates" and default_rules_dir() == package / "default_rules"
    assert (templates_dir() / "requestor" / "received.it.txt.j2").is_file()
    assert (default_rules_dir() / "conditions.toml").is_file()
    assert not (package.parent / "templates").exists() and not (package.parent / "rules").exists()


def test_an_office_template_replaces_the_packaged_one_and_only_that_one(tmp_path):
    config, _wording = office_wording(tmp_path)
    box = mailbox.Maildir(tmp_path / "mail", create=True)
    box.add(INFO_MAIL)
    box.add(patient_mail("Anna <anna@example.net>", "Informazioni", "Buongiorno, come posso chiedere un secondo parere?"))
    assert main(["--config", str(config), "once"]) == 0
    replies = [p.read_bytes() for p in sorted((tmp_path / "out").glob("*.eml"))]
    assert len(replies) == 2
    english = [r for r in replies if b"Content-Language: en" in r]
    italian = [r for r in replies if b"Content-Language: it" in r]
    assert len(english) == 1 and b"Welcome to the Example Hospital office." in english[0]
    assert len(italian) == 1 and b"Example Hospital office" not in italian[0]


@pytest.mark.parametrize("change, expected", [
    (lambda t: t.replace("{{ office_name }}", "{{ office_name }"), "template syntax error"),
    (lambda t: t.replace("{{ office_name }}", "{{ office_nmae }}"), "uses office_nmae, which this message does not provide"),
    (lambda t: t.split("\n", 1)[1], "must start with a 'Subject:' line"),
    (lambda t: t + "{{ office_name.upper(1, 2, 3) + 'x' | no_such_filter }}", "no_such_filter"),
], ids=["syntax", "unknown_name", "no_subject", "unknown_filter"])
def test_a_broken_office_template_stops_the_start_naming_its_file(tmp_path, capsys, change, expected):
    config, wording = office_wording(tmp_path)
    path = wording / "requestor" / "instructions.en.txt.j2"
    path.write_text(change(path.read_text(encoding="utf-8")), encoding="utf-8")
    box = mailbox.Maildir(tmp_path / "mail", create=True)
    box.add(INFO_MAIL)
    assert main(["--config", str(config), "once"]) == 2
    line = one_error_line(capsys)
    assert str(path) in line and expected in line
    assert list(box.keys()) != [] and not (tmp_path / "out").exists()   # nothing was processed
    assert not (tmp_path / "mailbot.db").exists()                         # nor a database made


def test_an_office_template_that_replaces_nothing_is_named(tmp_path, capsys):
    config, wording = office_wording(tmp_path)
    typo = wording / "requestor" / "instructons.en.txt.j2"
    typo.write_text("Subject: x\n", encoding="utf-8")
    assert main(["--config", str(config), "cases"]) == 2
    assert str(typo) in one_error_line(capsys)
    typo.unlink()
    assert main(["--config", str(config), "cases"]) == 0   # the same config without the typo starts


def test_a_missing_templates_folder_is_a_config_error(tmp_path, capsys):
    config = local_config(tmp_path, f'\n[templates]\ndir = "{tmp_path / "nowhere"}"\n')
    assert main(["--config", str(config), "cases"]) == 2
    line = one_error_line(capsys)
    assert str(tmp_path / "nowhere") in line and "templates.dir" in line


def test_rules_init_writes_the_defaults_and_never_overwrites(tmp_path, capsys):
    target = tmp_path / "office" / "rules"
    assert main(["rules", "init", str(target)]) == 0
    assert sorted(p.name for p in target.iterdir()) == sorted(p.name for p in default_rules_dir().glob("*.toml"))
    assert main(["rules", "check", str(target)]) == 0
    (target / "pricing.toml").write_text("# the office's own prices\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["rules", "init", str(target)]) == 1
    assert "already exists" in capsys.readouterr().err
    assert (target / "pricing.toml").read_text(encoding="utf-8") == "# the office's own prices\n"


def test_rules_check_checks_the_configured_folder(tmp_path, capsys):
    broken = tmp_path / "office-rules"
    shutil.copytree(default_rules_dir(), broken)
    (broken / "staff.toml").write_text("[[triage]]\nname = 1\n", encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text(LOCAL_CONFIG.format(rules=broken), encoding="utf-8")
    assert main(["--config", str(config), "rules", "check"]) == 1
    out = capsys.readouterr().out
    assert str(broken / "staff.toml") in out and str(default_rules_dir()) not in out


def test_rules_check_with_a_config_that_does_not_load_checks_nothing(tmp_path, capsys):
    config = tmp_path / "config.toml"
    config.write_text(LOCAL_CONFIG.format(rules=default_rules_dir()).replace("[storage]", "[storage]\nsize = 3"),
                      encoding="utf-8")
    assert main(["--config", str(config), "rules", "check"]) == 2
    captured = capsys.readouterr()
    assert "storage.size: unknown key" in captured.err and "rules check DIR" in captured.err
    assert "rules OK" not in captured.out
    assert main(["--config", str(tmp_path / "missing.toml"), "rules", "check"]) == 2
    assert "config file not found" in capsys.readouterr().err
