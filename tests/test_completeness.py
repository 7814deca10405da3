from mailbot.checks.completeness import DocumentFacts, check_completeness
from mailbot.checks.conditions import match_condition
from small_rules import small_rulebook

RULES = small_rulebook()
FORM = {"patient_name": "Maria Rossi", "patient_birth_date": "1968-05-14", "requestor_role": "patient",
        "condition": "breast cancer"}


def docs(*types, usable=True):
    return [DocumentFacts(f"{t}.pdf", (t,), usable) for t in types]


def codes(findings):
    return sorted((f.code, f.subject) for f in findings)


def test_conditions_match_aliases_case_and_accent_insensitively():
    assert match_condition("Carcinoma Mammario sinistro", RULES) == "breast_cancer"
    assert match_condition("TUMORE AL SENO", RULES) == "breast_cancer"
    assert match_condition("tumóre del polmóne", RULES) == "lung_cancer"
    assert match_condition("a headache", RULES) is None


def test_complete_breast_case_has_no_findings():
    cond, findings = check_completeness(
        form=FORM, consent={}, documents=docs("oncologist_report", "histology_report", "breast_ultrasound_report"),
        rulebook=RULES)
    assert cond == "breast_cancer"
    assert findings == []


def test_missing_required_and_any_of_are_named():
    _, findings = check_completeness(form=FORM, consent={}, documents=docs("histology_report"), rulebook=RULES)
    assert codes(findings) == [("document_any_of_missing", "mammography_report|breast_ultrasound_report"),
                               ("document_missing", "oncologist_report")]


def test_unusable_documents_do_not_count():
    _, findings = check_completeness(
        form=FORM, consent={}, rulebook=RULES,
        documents=docs("oncologist_report", "mammography_report") + docs("histology_report", usable=False))
    assert codes(findings) == [("document_missing", "histology_report")]


def test_unknown_condition_lists_known_ones():
    _, findings = check_completeness(form={**FORM, "condition": "something rare"}, consent={}, documents=[],
                                     rulebook=RULES)
    unknown = [f for f in findings if f.code == "condition_unknown"]
    assert unknown and unknown[0].detail["known"] == ["breast_cancer", "lung_cancer"]


def test_family_member_needs_consent_and_physician_needs_code():
    complete = docs("oncologist_report", "histology_report", "mammography_report")
    _, findings = check_completeness(form={**FORM, "requestor_role": "family_member"}, consent={},
                                     documents=complete, rulebook=RULES)
    assert codes(findings) == [("consent_missing", "consent_form")]
    _, findings = check_completeness(form={**FORM, "requestor_role": "family_member"},
                                     consent={"patient_name": "Maria Rossi", "authorised_name": "Giulia"},
                                     documents=complete, rulebook=RULES)
    assert findings == []
    _, findings = check_completeness(form={**FORM, "requestor_role": "referring_physician"},
                                     consent={"patient_name": "Someone Else", "authorised_name": "Dr X"},
                                     documents=complete, rulebook=RULES)
    assert codes(findings) == [("consent_mismatch", "consent_form"), ("form_field_missing", "referring_physician_code")]


def test_no_form_at_all():
    _, findings = check_completeness(form={}, consent={}, documents=[], rulebook=RULES)
    assert codes(findings) == [("request_form_missing", "request_form")]
