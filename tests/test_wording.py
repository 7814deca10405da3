"""How messages read: values in the message's language, who did what, amounts with their
currency, subjects that keep the case ref on the header's first line, documents and the exact
command lines a triage doctor or specialist can send."""

from __future__ import annotations

import email
import re
from email import policy

import pytest

from golden import REF, fixed_case, raw_message, text_of
from mailbot.replies.headers import LINE, fold_subject

# English words of values that must never reach an Italian reader
ENGLISH_VALUES = ("oncological", "surgical", "radiotherapy", "awaiting documents", "awaiting_payment",
                  "with_specialist", "in_triage", "family_member", "referring_physician", "courier")


def _it(purpose, **change):
    return text_of(purpose, "it", {**fixed_case("it"), **change})


@pytest.mark.parametrize("role,word", [("patient", "il paziente"), ("family_member", "un familiare"),
                                       ("referring_physician", "il medico inviante")])
def test_italian_triage_mail_shows_italian_values(role, word):
    text = _it("triage/new_case", requestor_role=role, consultation_type="cardio_oncological",
               delivery="courier", share_with_referring_physician="yes")
    assert f"Richiedente: {word}" in text
    assert "Consulto richiesto: cardio-oncologico" in text
    assert "Consegna del referto: per email e con corriere; condivisione con il medico inviante: sì" in text
    facts = text.split("Documenti allegati:")[0]
    assert not any(v in facts for v in ENGLISH_VALUES), facts


@pytest.mark.parametrize("state,word", [("awaiting_documents", "in attesa di documenti"),
                                        ("awaiting_payment", "in attesa di pagamento"),
                                        ("with_specialist", "presso lo specialista")])
def test_states_are_worded_in_the_message_language(state, word):
    assert f"(stato: {word})" in _it("admin/notice", kind="command_wrong_state", state=state)
    assert f"il caso ora è {word}." in _it("staff/command_wrong_state", state=state)
    english = text_of("admin/notice", "en", {**fixed_case("en"), "kind": "command_wrong_state", "state": state})
    assert "_" not in english.split("(state: ")[1].split(")")[0]


def test_an_unknown_value_is_shown_without_underscores():
    text = _it("specialist/new_case", consultation_type="second_look")
    assert "Consulto: second look" in text


def test_a_command_line_notice_names_the_office_and_a_mail_notice_the_sender():
    cli = text_of("admin/notice", "en", {**fixed_case("en"), "kind": "command_wrong_state", "sender": "",
                                        "role": "admin", "line": "PAID"})
    assert 'Someone at the office (mailbot command line) sent "PAID"' in cli
    assert " (admin) sent" not in cli.replace("line) sent", "")
    mail = text_of("admin/notice", "en", {**fixed_case("en"), "kind": "command_wrong_state",
                                         "sender": "laura.fontana@example.org", "role": "admin", "line": "PAID"})
    assert 'laura.fontana@example.org (admin) sent "PAID"' in mail


def test_payment_mismatch_names_who_and_gives_amounts_with_their_currency():
    text = text_of("admin/notice", "en", {**fixed_case("en"), "kind": "payment_mismatch", "amount": "480.00",
                                         "expected": "500.00", "sender": "laura.fontana@example.org",
                                         "role": "admin", "state": "with_specialist"})
    assert "laura.fontana@example.org (admin) recorded a payment of EUR 480.00, but EUR 500.00 was due" in text
    assert "(state: with the specialist)" in text
    assert not re.search(r"(?<!EUR )\b\d+\.\d\d\b", text), "an amount without its currency"


def test_every_amount_in_every_golden_message_carries_its_currency():
    from golden import messages
    for purpose, variant, language, context in messages():
        text = text_of(purpose, language, context)
        bare = re.findall(r"(?<!EUR )\b\d{2,}\.\d\d\b", text)
        assert not bare, f"{purpose} {variant} {language}: amount without currency: {bare}"


def test_the_specialist_is_not_told_paid_when_the_amount_differed():
    differs = text_of("specialist/new_case", "en", {**fixed_case("en"), "payment_differs": True})
    assert "approved by triage and paid" not in differs
    assert "the office is checking its amount with the requestor" in differs
    assert "approved by triage and paid" in text_of("specialist/new_case", "en", fixed_case("en"))


def _list_after(text: str, heading: str) -> list[str]:
    block = text.split(heading + "\n", 1)[1].split("\n\n", 1)[0]
    return block.split("\n")


@pytest.mark.parametrize("language,heading", [("en", "Documents attached:"), ("it", "Documenti allegati:")])
def test_triage_and_specialist_list_each_document_with_its_title_on_one_line(language, heading):
    for purpose in ("triage/new_case", "specialist/new_case"):
        lines = _list_after(text_of(purpose, language, fixed_case(language)), heading)
        assert len(lines) >= 3 and all(ln.startswith("- ") for ln in lines), lines
    triage = _list_after(text_of("triage/new_case", "en", fixed_case("en")), "Documents attached:")
    assert "- histology_report_2026-03-02.pdf (Histology (pathology) report)" in triage
    specialist = _list_after(text_of("specialist/new_case", "it", fixed_case("it")), "Documenti allegati:")
    assert "- histology_report_2026-03-02.pdf (Referto istologico)" in specialist


def test_triage_mail_shows_the_exact_approve_lines_of_the_condition():
    case = {**fixed_case("en"), "consultation_types": ["surgical"], "specialties": ["thoracic_surgery"]}
    lines = _list_after(text_of("triage/new_case", "en", case),
                        "Reply to this email with one of these lines as the first line of your reply:")
    assert lines == ["- APPROVE surgical thoracic_surgery", "- MISSING: <item>; <item>", "- REJECT: <reason>"]
    full = text_of("triage/new_case", "en", fixed_case("en"))
    for ctype in fixed_case("en")["consultation_types"]:
        for specialty in fixed_case("en")["specialties"]:
            assert f"\n- APPROVE {ctype} {specialty}\n" in full


def test_specialist_mail_shows_its_command_lines():
    text = text_of("specialist/new_case", "en", fixed_case("en"))
    for line in ("- DECLINE: <reason>", "- MISSING: <item>; <item>",
                 "- CONSULT: Histological review (re-reading of the slides): <why>"):
        assert line in text


# -- subjects ---------------------------------------------------------------------------------

LONG_IT = "Richiesta attenzione dell'ufficio: accesso alla casella rifiutato: il segreto dell'app è scaduto o errato"


@pytest.mark.parametrize("subject", [
    "Documenti mancanti per la sua richiesta di secondo parere",          # ASCII, longer than a line
    LONG_IT,                                                              # needs encoded words
    "Short", "è", "x" * 120, "Seconda opinione: " + "à" * 90])
def test_subject_keeps_the_ref_on_the_first_header_line(subject):
    full = f"[{REF}] {subject}"
    folded = fold_subject(full)
    lines = folded.rstrip("\n").split("\n")
    assert lines[0].startswith(f"Subject: [{REF}]"), folded
    assert all(len(ln) <= LINE for ln in lines if " " in ln.strip()), folded
    assert all(ln.startswith(" ") for ln in lines[1:])
    parsed = email.message_from_string(folded + "\n", policy=policy.default)
    assert parsed["Subject"] == full


@pytest.mark.parametrize("language", ["en", "it"])
def test_every_message_header_starts_with_the_ref_in_the_raw_bytes(language):
    from golden import messages
    for purpose, _variant, lang, context in messages():
        if lang != language or context.get("case_ref") == "":   # a notice about no case has no ref
            continue
        raw = raw_message(purpose, lang, context)
        assert re.search(rb"^Subject: \[" + REF.encode() + rb"\] ", raw, re.M), (purpose, raw[:400])
        assert email.message_from_bytes(raw, policy=policy.default)["Subject"].startswith(f"[{REF}] ")


def test_a_long_italian_subject_reads_back_whole():
    context = {**fixed_case("it"), "kind": "login_client_refused"}
    raw = raw_message("admin/notice", "it", context)
    header = re.search(r"^Subject: .*?(?=\n\S)", raw.decode("ascii"), re.M | re.S).group(0)
    assert header.startswith(f"Subject: [{REF}] ")
    assert "\n" in header   # long enough to be folded, after the ref
    again = email.message_from_bytes(raw, policy=policy.default)
    assert again["Subject"] == f"[{REF}] Richiesta attenzione dell'ufficio: accesso alla casella rifiutato: " \
                               "il segreto dell'app è scaduto o errato"


def test_unusable_files_are_explained_in_the_triage_doctors_language():
    case = {**fixed_case("it"), "unusable": [{"filename": "scan.jpg", "problem": "not_pdf (jpeg)"},
                                             {"filename": "x.pdf", "problem": "encrypted"}]}
    text = text_of("triage/new_case", "it", case)
    assert "- scan.jpg: non è un PDF ma JPEG\n- x.pdf: protetto da password\n" in text


def test_a_command_not_understood_gets_the_form_in_the_doctors_language_and_the_cases_lines():
    text = text_of("staff/command_not_understood", "it", {**fixed_case("it"), "verb": "REJECT", "line": "REJECT",
                                                           "usage": "REJECT: <reason>"})
    assert "La forma accettata è: REJECT: <motivo>" in text
    approve = text_of("staff/command_not_understood", "en", {**fixed_case("en"), "verb": "APPROVE",
                                                             "line": "APPROVE a b c"})
    assert "\n- APPROVE oncological medical_oncology\n" in approve


def test_the_triage_reminder_shows_the_cases_command_lines():
    text = text_of("triage/reminder", "en", {**fixed_case("en"), "consultation_types": ["surgical"],
                                             "specialties": ["thoracic_surgery"]})
    assert "\n- APPROVE surgical thoracic_surgery\n- MISSING: <item>; <item>\n- REJECT: <reason>\n" in text


def test_the_requested_consultation_type_comes_first_among_the_approve_lines():
    case = {**fixed_case("en"), "consultation_type": "radiotherapy", "consultation_types": ["surgical", "radiotherapy"],
            "specialties": ["radiation_oncology"]}
    lines = [ln for ln in text_of("triage/new_case", "en", case).split("\n") if ln.startswith("- APPROVE")]
    assert lines == ["- APPROVE radiotherapy radiation_oncology", "- APPROVE surgical radiation_oncology"]


# -- the data the workflow gives these messages ---------------------------------------------------

def test_a_paid_mismatch_notice_names_the_admin_the_new_state_and_the_currency_and_the_specialist_is_told():
    from test_decide import NOW, OFFICE, RULES, case, mail
    from mailbot.workflow.decide import decide
    from mailbot.workflow.envelope import open_envelope
    from mailbot.workflow.model import Facts, StoredDocument
    docs = (StoredDocument("histology_report_2026-03-02.pdf", "h1", ("histology_report",), True),
            StoredDocument("scan.pdf", "s1", (), True))
    admin = str(RULES.staff.admins[0].email)
    envelope = open_envelope(mail(admin, "Re: [SO-2026-00001]", "PAID 480"), RULES, OFFICE)
    d = decide(envelope, Facts(by_reference=case(state="awaiting_payment", amount_due="500.00", documents=docs),
                               threaded=frozenset({"SO-2026-00001"})),   # the admin answers our mail: proof
               RULES, OFFICE, NOW)
    notices = [r for r in d.replies if r.purpose == "admin/notice"]
    assert notices and all(n.context["kind"] == "payment_mismatch" for n in notices)
    notice = notices[0].context
    assert (notice["sender"], notice["role"], notice["state"]) == (admin, "admin", "with_specialist")
    assert (notice["amount"], notice["expected"], notice["currency"]) == ("480.00", "500.00", "EUR")
    (specialist,) = [r for r in d.replies if r.purpose == "specialist/new_case"]
    assert specialist.context["payment_differs"] is True
    titles = {x["filename"]: x["title"] for x in specialist.context["case_documents"]}
    assert titles["histology_report_2026-03-02.pdf"] == RULES.title("histology_report", specialist.language)
    assert titles["scan.pdf"] == ""
    text = text_of("admin/notice", notices[0].language, notice)
    assert f"{admin} (admin) recorded a payment of EUR 480.00, but EUR 500.00 was due" in text \
        or f"{admin} (amministratore) ha registrato un pagamento di EUR 480.00" in text


def test_the_triage_mail_gets_the_conditions_consultation_types_and_specialties():
    from test_decide import NOW, OFFICE, RULES, case, mail
    from mailbot.workflow.decide import decide
    from mailbot.workflow.envelope import open_envelope
    from mailbot.workflow.model import Facts
    envelope = open_envelope(mail("francesca.rinaldi@example.org", "Re: [SO-2026-00001]", "APPROVE x y z"),
                             RULES, OFFICE)
    d = decide(envelope, Facts(by_reference=case(state="in_triage")), RULES, OFFICE, NOW)
    (reply,) = [r for r in d.replies if r.purpose == "staff/command_not_understood"]
    condition = RULES.conditions["breast_cancer"]
    assert reply.context["verb"] == "APPROVE"
    assert reply.context["consultation_types"] == list(condition.consultation_types)
    assert reply.context["specialties"] == list(condition.specialties)


def test_every_language_has_a_word_for_every_value_the_other_has():
    from jinja2 import Environment, FileSystemLoader

    from mailbot.resources import templates_dir
    env = Environment(loader=FileSystemLoader(str(templates_dir())), trim_blocks=True, lstrip_blocks=True)
    words = {lang: env.get_template(f"_vocabulary.{lang}.txt.j2").module.words for lang in ("en", "it")}
    assert words["en"].keys() == words["it"].keys()
    for kind in words["en"]:
        assert words["en"][kind].keys() == words["it"][kind].keys(), kind
    from mailbot.workflow.transitions import Role, State
    assert {s.value for s in State} <= words["it"]["state"].keys()
    assert {r.value for r in Role} <= words["it"]["role"].keys()
    from typing import get_args

    from mailbot.rulebook.models import ConsultationType
    from test_decide import RULES
    assert set(get_args(ConsultationType)) <= words["it"]["consultation"].keys()
    assert {"patient", "family_member", "referring_physician"} <= words["it"]["role"].keys()
    specialties = {s for c in RULES.conditions.values() for s in c.specialties}
    assert specialties <= words["it"]["specialty"].keys()
