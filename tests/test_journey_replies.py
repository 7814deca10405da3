"""The journey's replies as pure decisions rendered with the shipped templates, in English and
Italian: the translation request, the deletion date, the fee-due wording, the short
acknowledgement and the after-the-report verbs (TREATMENT, ADDITIONAL, the offer)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from mailbot.replies.render import Renderer
from mailbot.resources import templates_dir
from mailbot.schedule.reminders import reminder_specs
from mailbot.workflow.decide import decide
from mailbot.workflow.envelope import open_envelope
from mailbot.workflow.model import Facts
from language_samples import FOREIGN
from pdf_factory import text_pdf
from test_decide import MARIA, NOW, OFFICE, RULES, ROMANO, case, mail

RENDER = Renderer(templates_dir(), office_name="Office", office_address=OFFICE.address)


def text_of(spec, ref="SO-2026-00001") -> str:
    subject, body = RENDER.text(spec.purpose, spec.language, {**spec.context, "case_ref": ref})
    return " ".join(f"{subject}\n{body}".split())


@pytest.mark.parametrize("language,says", [("en", "it seems to be written in German"),
                                           ("it", "sembra scritto in tedesco")])
def test_the_translation_request_names_file_and_language(language, says):
    envelope = open_envelope(mail(MARIA, "letter", "The letter.",
                                  [("oncologist_report_2026-03-10.pdf", text_pdf(FOREIGN[0][1]))]), RULES, OFFICE)
    waiting = case(opened_at=NOW - timedelta(days=10), documents=())
    decision = decide(envelope, Facts(by_reference=replace(waiting, language=language)), RULES, OFFICE, NOW)
    (reply,) = decision.replies
    body = text_of(reply)
    assert f"oncologist_report_2026-03-10.pdf: {says}" in body
    assert ("English or Italian" if language == "en" else "inglese o italiano") in body
    assert "2027-02-11" in body                           # opened 10 days ago + 90 days
    assert any(f.code == "file_problem" and f.detail.get("language") == "de" for f in decision.findings)


@pytest.mark.parametrize("language", ["en", "it"])
def test_the_documents_reminder_gives_the_deletion_date(language):
    view = replace(case(), language=language)
    (spec,) = reminder_specs("documents:7", view, [{"code": "document_missing", "subject": "histology_report",
                                                     "detail": {}}], RULES, OFFICE, due=None, delete_on="2027-02-21")
    assert "2027-02-21" in text_of(spec)


def test_the_short_acknowledgement_is_once_a_day():
    envelope = open_envelope(mail(MARIA, "Re: documents", "Thank you, I will ask my oncologist."), RULES, OFFICE)
    waiting = case(opened_at=NOW - timedelta(days=3))
    (reply,) = decide(envelope, Facts(by_reference=waiting), RULES, OFFICE, NOW).replies
    assert reply.purpose == "requestor/noted" and "Histology" not in text_of(reply)
    again = decide(envelope, Facts(by_reference=waiting, noted_today=frozenset({waiting.ref})), RULES, OFFICE, NOW)
    assert again.replies == () and ("reply_skipped", {"purpose": "requestor/noted",
                                                      "why": "acknowledged in the last 24 hours"}) in again.events


def reported(**kw):
    return case(state="report_sent", specialist_email=ROMANO, report_sent_at=NOW - timedelta(days=2),
                after_report={"report": [["a" * 64, "second_opinion_report.pdf"]]}, **kw)


PROVEN = frozenset({"SO-2026-00001"})   # the message answers our own mail about the case (Facts.threaded)


def test_treatment_goes_to_the_secretariat_with_the_report():
    envelope = open_envelope(mail(MARIA, "Re: report", "TRATTAMENTO\nVorrei operarmi da voi."), RULES, OFFICE)
    unproven = decide(envelope, Facts(by_reference=reported()), RULES, OFFICE, NOW)   # a fresh mail: confirm first
    (ask,) = unproven.replies
    assert ask.purpose == "requestor/confirm_command" and ask.to == (MARIA,) and not unproven.patch
    assert unproven.confirmation["verb"] == "TREATMENT"
    decision = decide(envelope, Facts(by_reference=reported(), threaded=PROVEN), RULES, OFFICE, NOW)
    forward, told = decision.replies
    assert forward.to == ("breast.surgery.office@example.org",) and forward.documents == (
        ("a" * 64, "second_opinion_report.pdf"),)
    assert "Vorrei operarmi da voi." in text_of(forward) and MARIA not in text_of(forward)
    assert told.to == (MARIA,) and decision.state_after == "report_sent"
    assert decision.patch.after_report["treatment"]["to"] == "breast.surgery.office@example.org"
    assert decision.patch.after_report["treatment"]["thread"] == "<m1@example.net>"


def test_a_question_gets_the_offer_and_additional_opens_a_linked_case():
    envelope = open_envelope(mail(MARIA, "Re: report", "Is radiotherapy needed?"), RULES, OFFICE)
    (offer,) = decide(envelope, Facts(by_reference=reported()), RULES, OFFICE, NOW).replies
    assert offer.purpose == "requestor/additional_offer" and "EUR 500.00" in text_of(offer)
    envelope = open_envelope(mail(MARIA, "Re: offer", "AGGIUNTIVO\nServe la radioterapia?"), RULES, OFFICE)
    unproven = decide(envelope, Facts(by_reference=reported()), RULES, OFFICE, NOW)
    assert not unproven.new_case and [r.purpose for r in unproven.replies] == ["requestor/confirm_command"]
    opened = decide(envelope, Facts(by_reference=reported(), threaded=PROVEN), RULES, OFFICE, NOW)
    assert opened.new_case and opened.case_ref is None and opened.patch.additional_of == "SO-2026-00001"
    assert opened.state_after == "in_triage" and opened.form["clinical_question"] == "Serve la radioterapia?"
    assert {r.purpose for r in opened.replies} == {"requestor/additional_opened", "triage/additional_opinion"}


def test_the_payment_request_says_when_the_fee_is_due():
    for language, says in (("en", "The fee became due with this approval"),
                           ("it", "Il compenso è dovuto da questa approvazione")):
        subject, body = RENDER.text("requestor/payment_request", language, {
            "requestor_name": "", "case_ref": "SO-2026-00001", "patient_name": "Maria Rossi", "currency": "EUR",
            "amount": "500.00", "beneficiary": "H", "iban": "IT60", "bic": "B", "lines": [], "report_days": 5,
            "office_name": "Office"})
        assert says in " ".join(body.split())


def test_the_additional_opinion_costs_the_base_price_unless_priced():
    from decimal import Decimal
    from mailbot.workflow.pricing import additional_price, quote
    assert additional_price(RULES) == Decimal("500.00")
    unpriced = RULES.model_copy(update={"pricing": RULES.pricing.model_copy(
        update={"additional_opinion": None, "base": Decimal("640.00")})})
    assert additional_price(unpriced) == Decimal("640.00")
    priced = RULES.model_copy(update={"pricing": RULES.pricing.model_copy(update={"additional_opinion": Decimal("420.00")})})
    q = quote(priced, is_update_same_specialist=True, courier=True, additional=True)
    assert [(line.item, line.amount) for line in q.lines] == [("additional_opinion", Decimal("420.00")),
                                                             ("courier", Decimal("18.00"))]


def test_additional_without_a_question_opens_nothing_and_says_how():
    envelope = open_envelope(mail(MARIA, "Re: offer", "ADDITIONAL\n\nOn Mon, the office wrote:\n> Questions"), RULES,
                             OFFICE)
    decision = decide(envelope, Facts(by_reference=reported()), RULES, OFFICE, NOW)   # no proof needed: it says how
    assert not decision.new_case and decision.case_ref == "SO-2026-00001" and decision.state_after == "report_sent"
    (reply,) = decision.replies
    assert reply.purpose == "requestor/additional_offer"
    assert "no question below it" in text_of(reply) and "ADDITIONAL" in text_of(reply)


def test_the_secretariat_reply_is_relayed_only_in_reply_to_our_forward():
    forwarded = replace(reported(), after_report={"report": [["a" * 64, "second_opinion_report.pdf"]], "treatment": {
        "to": "breast.surgery.office@example.org", "by": MARIA, "thread": "<m0@example.net>"}})
    envelope = open_envelope(mail("breast.surgery.office@example.org", "Re: treatment", "The quote is EUR 9000."),
                             RULES, OFFICE)
    relayed = decide(envelope, Facts(by_thread=forwarded, threaded=PROVEN), RULES, OFFICE, NOW)
    (reply,) = relayed.replies
    assert relayed.command == "RELAY" and reply.purpose == "requestor/treatment_reply" and reply.to == (MARIA,)
    assert reply.in_reply_to == "<m0@example.net>" and "EUR 9000" in text_of(reply)
    forged = decide(envelope, Facts(by_thread=forwarded), RULES, OFFICE, NOW)   # cites none of our ids to it
    assert forged.command != "RELAY" and all(r.purpose != "requestor/treatment_reply" for r in forged.replies)
