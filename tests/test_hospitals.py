"""A network of hospitals (rules/hospitals.toml): the rules are checked with file:line errors,
and the pure decision takes the hospital of the message, its staff, prices and bank account."""

from __future__ import annotations

from datetime import datetime, timezone
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest

from mailbot.rulebook import check_rules, default_rules_dir, load_rulebook
from mailbot.schedule.workdays import WorkCalendar
from mailbot.workflow.decide import decide
from mailbot.workflow.envelope import open_envelope
from mailbot.schedule.reminders import reminder_specs
from mailbot.workflow.hospitals import hospital_of, named_hospital, scoped
from mailbot.workflow.model import CaseView, Facts, Office
from language_samples import FOREIGN
from pdf_factory import text_pdf
from network_rules import (HOSPITALS, MILAN, MILAN_IBAN, ROME, ROME_IBAN, ROME_STAFF, ROME_TRIAGE,
                           network_rules)

NOW = datetime(2026, 11, 23, 10, tzinfo=timezone.utc)
PATIENT = "maria@example.net"
MILAN_TRIAGE = "francesca.rinaldi@example.org"


@pytest.fixture(scope="module")
def rules(tmp_path_factory):
    return load_rulebook(network_rules(tmp_path_factory.mktemp("net") / "rules"))


def office(rules) -> Office:
    return Office("Network office", "office@network.example.org", ("en", "it"), zone=ZoneInfo("Europe/Rome"),
                  calendar=WorkCalendar.from_rulebook(rules), case_prefix="SO",
                  payment={"beneficiary": "Config", "iban": "IT60X0542811101000000123456", "bic": "BPMOIT22XXX"},
                  own_addresses=(MILAN, ROME), ref_prefixes=("MI", "RO"))


def mail(sender: str, to: str, subject: str, body: str, *, delivered_to: str = "") -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"], msg["Message-ID"] = sender, to, subject, "<m1@example.net>"
    if delivered_to:
        msg["Delivered-To"] = delivered_to
    msg.set_content(body)
    return bytes(msg)


REQUEST = ("Patient name: Maria Rossi\nDate of birth: 1970-01-02\nRole: patient\nCondition: {condition}\n"
           "{extra}")


def approved_in(rules, hospital: str, condition: str = "breast_cancer", triage: str = MILAN_TRIAGE):
    case = CaseView(ref="XX-2026-00001", state="in_triage", language="en", requestor_email=PATIENT,
                    form={"patient_name": "Maria Rossi", "requestor_role": "patient"}, consent={},
                    condition_id=condition, hospital=hospital)
    envelope = open_envelope(mail(triage, MILAN, "Re: [XX-2026-00001]", "APPROVE"), rules, office(rules))
    # a reply to our own mail about the case: the command comes with proof of its sender
    return decide(envelope, Facts(by_reference=case, threaded=frozenset({case.ref})), rules, office(rules), NOW)


# -- the rules -----------------------------------------------------------------------------------

def test_without_hospitals_toml_the_rules_and_office_are_as_before():
    rules = load_rulebook(default_rules_dir())
    assert rules.hospitals == {} and rules.for_hospital("") is rules
    assert hospital_of(rules, None, {"hospital": "milan"}, (MILAN,)) == ""


def test_a_network_loads_with_each_hospitals_staff_and_prices(rules):
    rome, milan = rules.for_hospital("rome"), rules.for_hospital("milan")
    assert [str(m.email) for m in rome.staff.triage] == [ROME_TRIAGE]
    assert MILAN_TRIAGE in [str(m.email) for m in milan.staff.triage]
    assert [str(m.email) for m in rome.staff.admins] == [str(m.email) for m in rules.staff.admins]  # shared
    assert str(rome.pricing.for_condition("breast_cancer")[0]) == "450.00"
    assert str(milan.pricing.for_condition("breast_cancer")[0]) == "600.00"
    assert str(milan.pricing.for_condition("lung_cancer")[0]) == "500.00"      # pricing.toml's
    assert rome.offers("breast_cancer") and not rome.offers("lung_cancer") and milan.offers("lung_cancer")


def _problems(tmp_path, hospitals: str = HOSPITALS, rome_staff: str = ROME_STAFF, staff_edit=None):
    directory = network_rules(tmp_path / "rules", hospitals=hospitals, rome_staff=rome_staff)
    if staff_edit:
        path = directory / "staff.toml"
        path.write_text(staff_edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    return check_rules(directory)


def _line_of(text: str, needle: str) -> int:
    """The last line holding `needle` (Rome's entries come after Milan's)."""
    return max(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize("old, new, key, what", [
    ('iban = "DE89370400440532013000"', 'iban = "DE89370400440532013001"', "hospitals.rome.payment.iban",
     "not a valid IBAN"),
    ('bic = "COBADEFFXXX"', 'bic = "COBA"', "hospitals.rome.payment.bic", "not a valid BIC"),
    ('conditions = ["breast_cancer"]', 'conditions = ["breast_cancer", "heart_thing"]',
     "hospitals.rome.conditions[1]", "unknown condition 'heart_thing'"),
    ('[hospitals.rome.prices.breast_cancer]', '[hospitals.rome.prices.lung_cancer]',
     "hospitals.rome.prices.lung_cancer", "does not offer"),
    ('addresses = ["rome.second.opinion@rome.example.org"', f'addresses = ["{MILAN}"',
     "hospitals.rome.addresses[0]", "also an address of hospital 'milan'"),
    ('case_prefix = "RO"', 'case_prefix = "MI"', "hospitals.rome.case_prefix", "also the case prefix"),
    ('case_prefix = "RO"', 'case_prefix = "ro"', "hospitals.rome.case_prefix", "should match pattern"),
    ('default = "milan"', 'default = "turin"', "default", "unknown hospital 'turin'"),
    ('accepted_languages = ["it", "en"]', 'accepted_languages = ["italian"]',
     "hospitals.rome.accepted_languages[0]", "not a language"),
    ('name = "Rome Oncology Hospital"\n', 'name = "Rome Oncology Hospital"\nbeds = 300\n', "hospitals.rome.beds",
     "unknown key"),
])
def test_a_mistake_in_hospitals_toml_names_file_line_and_key(tmp_path, old, new, key, what):
    assert old in HOSPITALS
    text = HOSPITALS.replace(old, new, 1)
    problems = _problems(tmp_path, hospitals=text)
    wanted = [p for p in problems if "hospitals.toml:" in p and f": {key}: " in p]
    assert wanted and what in wanted[0], problems
    line = int(wanted[0].split("hospitals.toml:", 1)[1].split(":", 1)[0])
    assert line == _line_of(text, new.strip().splitlines()[-1]), (line, wanted[0])


def test_staff_naming_an_unknown_hospital_and_a_hospital_without_triage_are_errors(tmp_path):
    problems = _problems(tmp_path, staff_edit=lambda t: t.replace('hospital = "milan"', 'hospital = "milano"', 1))
    staff = [p for p in problems if "staff.toml:" in p]
    assert staff and "triage[0].hospital: unknown hospital 'milano'" in staff[0]
    text = (tmp_path / "rules" / "staff.toml").read_text(encoding="utf-8")
    assert f"staff.toml:{_line_of(text, 'milano')}:" in staff[0]
    rome_without_triage = ROME_STAFF.split("[[specialists]]")[0].replace("[[triage]]", "[[admins]]")
    problems = _problems(tmp_path / "b", rome_staff=rome_without_triage + "[[specialists]]"
                         + ROME_STAFF.split("[[specialists]]")[1])
    assert any("hospitals.toml:" in p and "hospitals.rome: no triage doctor" in p for p in problems), problems


def test_a_hospital_staff_file_entry_for_another_hospital_and_a_missing_specialty_are_errors(tmp_path):
    wrong = ROME_STAFF.replace('[[triage]]\n', '[[triage]]\nhospital = "milan"\n')
    problems = _problems(tmp_path, rome_staff=wrong)
    assert any("staff_rome.toml:2: triage[0].hospital: this is the staff file of hospital 'rome'" in p
               for p in problems), problems
    thin = ROME_STAFF.replace('"breast_surgery", ', "")
    problems = _problems(tmp_path / "b", rome_staff=thin)
    assert any("hospitals.rome.conditions: offers 'breast_cancer'" in p and "'breast_surgery'" in p
               for p in problems), problems


def test_hospital_in_staff_toml_without_hospitals_toml_is_an_error(tmp_path):
    directory = network_rules(tmp_path / "rules")
    (directory / "hospitals.toml").unlink()
    problems = check_rules(directory)
    assert problems and all("staff.toml:" in p and "no hospitals.toml" in p for p in problems)


# -- the decision --------------------------------------------------------------------------------

def test_the_hospital_comes_from_the_form_then_the_address_then_the_default(rules):
    assert hospital_of(rules, None, {}, (ROME,)) == "rome"
    assert hospital_of(rules, None, {}, ("secondo.parere@rome.example.org",)) == "rome"
    assert hospital_of(rules, None, {"hospital": "Rome Oncology Hospital"}, (MILAN,)) == "rome"
    assert hospital_of(rules, None, {"hospital": "nowhere"}, ("x@example.org",)) == "milan"
    assert named_hospital(rules, "ROME") == "rome"
    on_case = CaseView(ref="MI-2026-00001", state="awaiting_documents", language="en", requestor_email=PATIENT,
                       form={}, consent={}, hospital="milan")
    assert hospital_of(rules, on_case, {"hospital": "rome"}, (ROME,)) == "milan"   # a case keeps its own


def test_a_new_request_to_a_hospital_address_opens_its_case(rules):
    body = REQUEST.format(condition="breast cancer", extra="")
    for address, hospital, delivered in ((ROME, "rome", ""), ("office@network.example.org", "rome", ROME),
                                         (MILAN, "milan", "")):
        envelope = open_envelope(mail(PATIENT, address, "Second opinion", body, delivered_to=delivered),
                                 rules, office(rules))
        d = decide(envelope, Facts(), rules, office(rules), NOW)
        assert d.new_case and d.patch.hospital == hospital, (address, d.patch)
        assert d.replies[0].context["office_name"] == rules.hospitals[hospital].name


def test_each_hospital_asks_its_own_price_to_its_own_account(rules):
    rome, milan = approved_in(rules, "rome", triage=ROME_TRIAGE), approved_in(rules, "milan")
    assert rome.command == "APPROVE" and milan.command == "APPROVE"
    assert rome.patch.amount_due == "450.00" and milan.patch.amount_due == "600.00"
    (to_rome,), (to_milan,) = rome.replies, milan.replies
    assert to_rome.context["iban"] == ROME_IBAN and to_rome.context["beneficiary"] == "Rome Oncology Hospital"
    assert to_milan.context["iban"] == MILAN_IBAN and to_milan.context["amount"] == "600.00"


def test_triage_of_one_hospital_cannot_act_on_the_other_hospitals_case(rules):
    refused = approved_in(rules, "rome", triage=MILAN_TRIAGE)
    assert refused.command != "APPROVE" and refused.patch.amount_due is not "450.00"
    assert not any(r.purpose == "requestor/payment_request" for r in refused.replies)


def test_a_condition_the_hospital_does_not_offer_gets_the_hospitals_that_do(rules):
    body = REQUEST.format(condition="lung cancer", extra="")
    envelope = open_envelope(mail(PATIENT, ROME, "Second opinion", body), rules, office(rules))
    d = decide(envelope, Facts(), rules, office(rules), NOW)
    assert d.new_case and d.state_after == "awaiting_documents" and d.patch.hospital == "rome"
    (reply,) = d.replies
    assert reply.purpose == "requestor/condition_not_offered"
    assert reply.context["not_offered"] == {"hospital": "Rome Oncology Hospital", "hospitals": [
        {"id": "milan", "name": "Milan Cancer Centre", "address": MILAN}]}
    assert [f.code for f in d.findings if f.blocking] == ["condition_not_offered"]


def test_a_case_is_routed_to_its_hospitals_specialists(rules):
    case = CaseView(ref="RO-2026-00001", state="awaiting_payment", language="en", requestor_email=PATIENT,
                    form={"patient_name": "Maria Rossi", "requestor_role": "patient"}, consent={},
                    condition_id="breast_cancer", hospital="rome", amount_due="450.00",
                    triage={"approved_by": ROME_TRIAGE})
    admin = str(rules.staff.admins[0].email)
    envelope = open_envelope(mail(admin, MILAN, "Re: [RO-2026-00001]", "PAID"), rules, office(rules))
    d = decide(envelope, Facts(by_reference=case, threaded=frozenset({case.ref})), rules, office(rules), NOW)
    assert d.patch.specialist_email == "rome.oncologist@rome.example.org", d.patch


def test_a_fresh_mail_to_another_hospital_is_not_filed_on_the_senders_open_case_here(rules):
    open_at_milan = CaseView(ref="MI-2026-00001", state="awaiting_documents", language="en", requestor_email=PATIENT,
                             form={"patient_name": "Maria Rossi"}, consent={}, hospital="milan")
    body = REQUEST.format(condition="breast cancer", extra="")
    to_rome = open_envelope(mail(PATIENT, ROME, "Second opinion", body), rules, office(rules))
    d = decide(to_rome, Facts(sender_open=(open_at_milan,)), rules, office(rules), NOW)
    assert d.new_case and d.patch.hospital == "rome"
    to_milan = open_envelope(mail(PATIENT, MILAN, "More documents", "Here they are."), rules, office(rules))
    d = decide(to_milan, Facts(sender_open=(open_at_milan,)), rules, office(rules), NOW)
    assert d.case_ref == "MI-2026-00001" and d.routed_by == "sender"


def test_each_hospitals_accepted_languages_are_read_from_its_rules(rules):
    assert rules.for_hospital("rome").accepted_languages == ("it", "en")
    assert rules.for_hospital("milan").accepted_languages == ("en", "it")
    assert load_rulebook(default_rules_dir()).accepted_languages == ("en", "it")
    _rules, rome_office = scoped(rules, office(rules), "rome")
    assert rome_office.accepted_languages == ("it", "en") and rome_office.case_prefix == "RO"


def test_no_missing_documents_reminder_for_a_condition_the_hospital_does_not_offer(rules):
    case = CaseView(ref="RO-2026-00001", state="awaiting_documents", language="en", requestor_email=PATIENT,
                    form={}, consent={}, hospital="rome")
    findings = [{"code": "condition_not_offered", "subject": "lung_cancer", "detail": {}}]
    rome_rules, rome_office = scoped(rules, office(rules), "rome")
    assert reminder_specs("documents:14", case, findings, rome_rules, rome_office, due=None) == []
    payment = reminder_specs("payment:7", case, [], rome_rules, rome_office, due=None, amount="450.00")
    assert payment[0].context["iban"] == ROME_IBAN and payment[0].context["amount"] == "450.00"


def test_the_mailbox_it_was_read_from_decides_when_the_addresses_name_no_hospital(rules):
    assert hospital_of(rules, None, {}, ("alias@network.example.org",), "rome") == "rome"
    assert hospital_of(rules, None, {}, (MILAN,), "rome") == "milan"         # its address first
    assert hospital_of(rules, None, {}, (), "nowhere") == "milan"            # unknown: the default
    body = REQUEST.format(condition="breast cancer", extra="")
    envelope = open_envelope(mail(PATIENT, "undisclosed-recipients:;", "Second opinion", body), rules,
                             office(rules), received_for="rome")
    assert decide(envelope, Facts(), rules, office(rules), NOW).patch.hospital == "rome"


def test_a_missing_staff_file_is_named_where_hospitals_toml_names_it(tmp_path):
    directory = network_rules(tmp_path / "rules")
    (directory / "staff_rome.toml").unlink()
    problem = next(p for p in check_rules(directory) if "staff_file: " in p)
    line = _line_of(HOSPITALS, "staff_file")
    assert f"hospitals.toml:{line}: hospitals.rome.staff_file: " in problem and "staff_rome.toml not found" in problem


def test_documents_are_judged_by_the_languages_of_the_hospital_the_mail_came_to(rules):
    german = [text for code, text in FOREIGN if code == "de"][0]
    rome = rules.hospitals["rome"].model_copy(update={"accepted_languages": ("it", "en", "de")})
    network = rules.model_copy(update={"hospitals": {**rules.hospitals, "rome": rome}})
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"], msg["Message-ID"] = PATIENT, ROME, "Second opinion", "<m2@example.net>"
    msg.set_content(REQUEST.format(condition="breast cancer", extra=""))
    msg.add_attachment(text_pdf(german), maintype="application", subtype="pdf",
                       filename="oncologist_report_2026-03-10.pdf")
    to_rome = open_envelope(bytes(msg), network, office(network), received_for="rome").attachments
    to_milan = open_envelope(bytes(msg), network, office(network), received_for="milan").attachments
    assert [(a.problem, a.language) for a in to_rome] == [(None, "")]
    assert [(a.problem, a.language) for a in to_milan] == [("foreign_language", "de")]
