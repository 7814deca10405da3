"""A network of two hospitals written over the default rules, for the hospitals tests.

Milan: the default staff (their entries get hospital = "milan"), every condition, breast cancer at
600.00. Rome: its own staff file, breast cancer only, at 450.00 and another bank account. The
admins of staff.toml serve both.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from mailbot.resources import default_rules_dir

MILAN = "milan.second.opinion@milan.example.org"
ROME = "rome.second.opinion@rome.example.org"
MILAN_IBAN, ROME_IBAN = "IT60X0542811101000000123456", "DE89370400440532013000"
ROME_TRIAGE, ROME_SPECIALIST = "rome.triage@rome.example.org", "rome.oncologist@rome.example.org"

HOSPITALS = f"""\
# two hospitals of one network
default = "milan"

[hospitals.milan]
name = "Milan Cancer Centre"
addresses = ["{MILAN}"]
case_prefix = "MI"
[hospitals.milan.payment]
beneficiary = "Milan Cancer Centre"
iban = "{MILAN_IBAN}"
bic = "BPMOIT22XXX"
[hospitals.milan.prices.breast_cancer]
base = 600.00

[hospitals.rome]
name = "Rome Oncology Hospital"
addresses = ["{ROME}", "secondo.parere@rome.example.org"]
case_prefix = "RO"
accepted_languages = ["it", "en"]
conditions = ["breast_cancer"]
staff_file = "staff_rome.toml"
[hospitals.rome.payment]
beneficiary = "Rome Oncology Hospital"
iban = "{ROME_IBAN}"
bic = "COBADEFFXXX"
[hospitals.rome.prices.breast_cancer]
base = 450.00
update = 300.00
"""

ROME_STAFF = f"""\
[[triage]]
name = "Dr Rome Triage"
email = "{ROME_TRIAGE}"
specialties = ["medical_oncology"]
languages = ["it", "en"]

[[specialists]]
name = "Dr Rome Oncologist"
email = "{ROME_SPECIALIST}"
specialties = ["breast_surgery", "medical_oncology", "radiation_oncology"]
languages = ["it", "en"]
"""


def network_rules(directory: Path, *, hospitals: str = HOSPITALS, rome_staff: str = ROME_STAFF) -> Path:
    """The default rules plus hospitals.toml and Rome's staff file, in `directory`."""
    shutil.copytree(default_rules_dir(), directory)
    staff = (directory / "staff.toml").read_text(encoding="utf-8")
    staff = re.sub(r"(\[\[(?:triage|specialists)\]\]\n)", r'\1hospital = "milan"\n', staff)
    (directory / "staff.toml").write_text(staff, encoding="utf-8")
    (directory / "hospitals.toml").write_text(hospitals, encoding="utf-8")
    (directory / "staff_rome.toml").write_text(rome_staff, encoding="utf-8")
    return directory
