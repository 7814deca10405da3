"""The pure decision core: routing, loop detection and the intake Decision, without any server."""

from mailbot.checks.automatic import automatic_reason
from mailbot.parse import ParsedMessage
from mailbot.workflow.intake import Office, decide
from mailbot.workflow.model import AssessedAttachment, CaseView, StoredDocument
from mailbot.workflow.routing import Candidates, Route, choose_case, find_refs, sender_role
from small_rules import small_rulebook

RULES = small_rulebook()
OFFICE = Office(name="Second Opinion", address="so@hospital.example.org", languages=("en", "it"))


def message(text="", subject="Second opinion", sender="maria@example.net", **headers) -> ParsedMessage:
    return ParsedMessage(message_id="<m1@example.net>", from_name="", from_addr=sender, reply_to="", to=(),
                         cc=(), subject=subject, date=None, in_reply_to="", references=(), text=text,
                         attachments=(), headers=headers)


def pdf(name, *types, problem=None, name_ok=True, kind="pdf", suggestion=None, sha=None):
    return AssessedAttachment(filename=name, sha256=sha or name, size=100, kind=kind, pages=1, has_text=True,
                              problem=problem, doc_types=types, name_ok=name_ok,
                              name_reason=None if name_ok else "generic", suggestion=suggestion,
                              form_fields={}, consent_fields={})


FORM_LINES = ("patient_name: Maria Rossi\npatient_birth_date: 1968-05-14\nrequestor_role: patient\n"
              "condition: breast cancer\n")


def case(state="awaiting_documents", docs=(), form=None, **kw) -> CaseView:
    return CaseView(ref="SO-2026-00001", state=state, language=kw.get("language", "en"),
                    requestor_email="maria@example.net", form=form if form is not None else {}, consent={},
                    documents=tuple(docs))


def test_refs_are_found_in_order_and_upper_cased():
    assert find_refs("Re: [so-2026-00042] and SO-2026-00007, SO-2026-00042", "SO") == ["SO-2026-00042", "SO-2026-00007"]
    assert find_refs("XSO-2026-00042 SO-2026-000421", "SO") == []


def test_routing_order_thread_then_reference_then_single_open_case():
    a, b, c = case(), CaseView("SO-2026-00002", "awaiting_documents", "en", "x", {}, {}), \
        CaseView("SO-2026-00003", "awaiting_documents", "en", "x", {}, {})
    assert choose_case(Candidates(a, b, (c,)), carries_form_for_other_patient=False) == Route(a, "thread")
    assert choose_case(Candidates(None, b, (c,)), carries_form_for_other_patient=False) == Route(b, "reference")
    assert choose_case(Candidates(None, None, (c,)), carries_form_for_other_patient=False) == Route(c, "sender")
    assert choose_case(Candidates(None, None, (c,)), carries_form_for_other_patient=True) == Route(None, "new")
    assert choose_case(Candidates(None, None, (b, c)), carries_form_for_other_patient=False) == Route(None, "new")


def test_sender_roles():
    assert sender_role("TRIAGE@hospital.example.org", case(), RULES) == "triage"
    assert sender_role("maria@example.net", case(), RULES) == "requestor"
    assert sender_role("stranger@evil.example", case(), RULES) == "stranger"
    assert sender_role("p@example.net", case(form={"patient_email": "p@example.net"}), RULES) == "patient"


def test_automatic_messages_are_recognised():
    own = {"so@hospital.example.org"}
    assert automatic_reason(message(**{"auto-submitted": "auto-replied"}), own) == "auto_submitted"
    assert automatic_reason(message(**{"auto-submitted": "no"}), own) is None
    assert automatic_reason(message(sender="MAILER-DAEMON@mx.example.net"), own) == "system_sender"
    assert automatic_reason(message(**{"list-id": "<x.lists.example>"}), own) == "mailing_list"
    assert automatic_reason(message(**{"precedence": "bulk"}), own) == "precedence"
    assert automatic_reason(message(sender="so@hospital.example.org"), own) == "from_ourselves"
    assert automatic_reason(message(subject="Out of office: back Monday"), own) == "auto_subject"
    assert automatic_reason(message(sender=""), own) == "no_sender"
    assert automatic_reason(message(), own) is None


def test_complete_first_message_goes_to_triage_with_documents():
    atts = (pdf("oncologist_report.pdf", "oncologist_report"), pdf("histology_report.pdf", "histology_report"),
            pdf("mammography_report.pdf", "mammography_report"))
    d = decide(message(FORM_LINES), atts, Route(None, "new"), "requestor", None, RULES, OFFICE)
    assert d.new_case and d.state_after == "in_triage" and d.condition_id == "breast_cancer"
    assert [r.purpose for r in d.replies] == ["requestor/case_complete", "triage/new_case"]
    assert d.replies[0].to == ("maria@example.net",)
    assert d.replies[1].to == ("triage@hospital.example.org",)
    assert [f for _, f in d.replies[1].documents] == [a.filename for a in atts]


def test_incomplete_message_lists_missing_documents_and_file_problems():
    atts = (pdf("scan0001.pdf", "histology_report", name_ok=False, suggestion="histology_report_2026-03-02.pdf"),
            pdf("IMG_1.jpg", problem="not_pdf", kind="jpeg"))
    d = decide(message(FORM_LINES), atts, Route(None, "new"), "requestor", None, RULES, OFFICE)
    assert d.state_after == "awaiting_documents"
    (reply,) = d.replies
    assert reply.purpose == "requestor/missing_documents"
    ctx = reply.context
    assert [m["id"] for m in ctx["missing"]] == ["oncologist_report", "histology_report"]
    assert [f["filename"] for f in ctx["files"]] == ["scan0001.pdf", "IMG_1.jpg"]
    assert ctx["files"][0]["suggestion"] == "histology_report_2026-03-02.pdf"
    assert ctx["files"][1]["problem"] == "not_pdf" and ctx["files"][1]["kind"] == "jpeg"


def test_nothing_usable_gets_instructions_with_blank_forms():
    d = decide(message("How do I ask for a second opinion?"), (), Route(None, "new"), "requestor", None, RULES, OFFICE)
    (reply,) = d.replies
    assert reply.purpose == "requestor/instructions"
    assert set(reply.blank_forms) == {"request_form", "consent_form"}


def test_follow_up_completes_case_from_stored_documents():
    stored = (StoredDocument("oncologist_report.pdf", "a", ("oncologist_report",), True),
              StoredDocument("histology_report.pdf", "b", ("histology_report",), True))
    form = {"patient_name": "Maria Rossi", "patient_birth_date": "1968-05-14", "requestor_role": "patient",
            "condition": "breast cancer"}
    d = decide(message("here it is"), (pdf("mammography_report.pdf", "mammography_report"),),
               Route(case(docs=stored, form=form), "thread"), "requestor", None, RULES, OFFICE)
    assert not d.new_case and d.state_before == "awaiting_documents" and d.state_after == "in_triage"
    assert len(d.replies[1].documents) == 3


def test_italian_body_gives_italian_reply():
    d = decide(message("Buongiorno, vorrei un secondo parere per mia madre. Grazie"), (), Route(None, "new"),
               "requestor", None, RULES, OFFICE)
    assert d.language == "it" and d.replies[0].language == "it"


def test_automatic_stranger_and_staff_messages_never_act():
    auto = decide(message(), (), Route(case(), "thread"), "requestor", "auto_submitted", RULES, OFFICE)
    assert auto.disposition == "automatic" and auto.replies == () and auto.state_after == "awaiting_documents"
    lost = decide(message(), (), Route(None, "new"), "requestor", "bounce", RULES, OFFICE)
    assert lost.disposition == "quarantined" and not lost.new_case
    stranger = decide(message(FORM_LINES), (pdf("histology_report.pdf", "histology_report"),),
                      Route(case(), "reference"), "stranger", None, RULES, OFFICE)
    assert stranger.disposition == "stranger"
    (reply,) = stranger.replies
    assert reply.purpose == "requestor/not_a_party" and "patient_name" not in reply.context
    staff = decide(message("APPROVE"), (), Route(case(state="in_triage"), "thread"), "triage", None, RULES, OFFICE)
    assert staff.replies == () and staff.state_after == "in_triage"


def test_reply_cap_drops_requestor_replies_but_not_staff_mail():
    from mailbot.workflow.limits import split_by_cap
    from mailbot.workflow.model import ReplySpec
    to_patient = ReplySpec("requestor/received", ("Maria@example.net",), "en", {})
    to_triage = ReplySpec("triage/new_case", ("triage@hospital.example.org",), "en", {})
    keep, drop = split_by_cap((to_patient, to_triage), {"maria@example.net": 10}, cap=10)
    assert keep == [to_triage] and drop == [to_patient]
    keep, drop = split_by_cap((to_patient, to_patient), {"maria@example.net": 9}, cap=10)
    assert keep == [to_patient] and drop == [to_patient]


def test_apple_vacation_reply_is_automatic():
    assert automatic_reason(message(**{"x-apple-action": "VACATION"}), {"so@hospital.example.org"}) == "auto_reply_header"


# --- hostile content: named to the staff, never a request to the requestor ---------------

def _active(name, *types):
    from dataclasses import replace
    return replace(pdf(name, *types), active_content=("JavaScript", "OpenAction"))


def test_active_content_is_a_warning_for_triage_not_a_request_to_the_requestor():
    atts = (pdf("oncologist_report.pdf", "oncologist_report"), _active("histology_report.pdf", "histology_report"),
            pdf("mammography_report.pdf", "mammography_report"))
    d = decide(message(FORM_LINES), atts, Route(None, "new"), "requestor", None, RULES, OFFICE)
    assert d.state_after == "in_triage"                       # it still counts
    assert [f.code for f in d.findings] == ["file_active_content"]
    assert d.findings[0].detail == {"what": ["JavaScript", "OpenAction"]} and not d.findings[0].blocking
    to_requestor, to_triage = d.replies
    assert to_requestor.context["files"] == []               # nothing asked about it
    lines = {doc["filename"]: doc["active_content"] for doc in to_triage.context["documents"]}
    assert lines == {"oncologist_report.pdf": [], "histology_report.pdf": ["JavaScript", "OpenAction"],
                     "mammography_report.pdf": []}


def test_active_content_filed_earlier_is_still_named_when_the_case_goes_to_triage():
    earlier = StoredDocument("histology_report.pdf", "h", ("histology_report",), True, "", ("JavaScript",))
    d = decide(message(FORM_LINES), (pdf("oncologist_report.pdf", "oncologist_report"),
                                     pdf("mammography_report.pdf", "mammography_report")),
               Route(case(docs=(earlier,)), "thread"), "requestor", None, RULES, OFFICE)
    triage = next(r for r in d.replies if r.purpose == "triage/new_case")
    assert {doc["filename"]: doc["active_content"] for doc in triage.context["documents"]}["histology_report.pdf"] \
        == ["JavaScript"]


def test_unreadable_parts_reach_requestor_and_triage():
    from dataclasses import replace
    atts = (pdf("oncologist_report.pdf", "oncologist_report"), pdf("histology_report.pdf", "histology_report"),
            pdf("mammography_report.pdf", "mammography_report"))
    msg = replace(message(FORM_LINES), unreadable_parts=("a forwarded message nested deeper than 32 levels",))
    d = decide(msg, atts, Route(None, "new"), "requestor", None, RULES, OFFICE)
    assert [f.code for f in d.findings] == ["message_part_unreadable"]
    for reply in d.replies:
        assert reply.context["unreadable_parts"] == ["a forwarded message nested deeper than 32 levels"]
    plain = decide(message(FORM_LINES), atts, Route(None, "new"), "requestor", None, RULES, OFFICE)
    assert all(r.context["unreadable_parts"] == [] for r in plain.replies) and plain.findings == ()


def test_the_specialist_is_warned_of_active_content_in_new_documents():
    from dataclasses import replace
    with_specialist = replace(case(state="with_specialist", form={"patient_name": "Maria Rossi"}),
                              specialist_email="spec@hospital.example.org")
    d = decide(message("more"), (_active("ct_report.pdf", "ct_report"), pdf("pet_report.pdf", "ct_report")),
               Route(with_specialist, "thread"), "requestor", None, RULES, OFFICE)
    (to_specialist,) = [r for r in d.replies if r.purpose == "specialist/more_documents"]
    assert to_specialist.context["active_files"] == ["ct_report.pdf"]
