from mailbot.documents.forms import fields_from_acroform, fields_from_body, form_problems, normalise_date


def test_body_lines_in_english_with_contract_names():
    body = ("Hello,\npatient_name: Maria Rossi\npatient_birth_date: 1968-05-14\nrequestor_role: patient\n"
            "condition: Breast cancer\nlanguage: en\ndelivery: courier\nshare_with_referring_physician: yes\n")
    assert fields_from_body(body) == {
        "patient_name": "Maria Rossi", "patient_birth_date": "1968-05-14", "requestor_role": "patient",
        "condition": "Breast cancer", "language": "en", "delivery": "courier",
        "share_with_referring_physician": "yes"}


def test_body_lines_with_italian_labels_and_values():
    body = ("Buongiorno,\nNome del paziente: Anna Neri\nData di nascita: 03/09/1950\nRuolo: familiare\n"
            "Patologia: tumore del polmone\nLingua: italiano\nConsegna: corriere\n")
    fields = fields_from_body(body)
    assert fields["patient_name"] == "Anna Neri"
    assert fields["patient_birth_date"] == "1950-09-03"
    assert fields["requestor_role"] == "family_member"
    assert fields["language"] == "it"
    assert fields["delivery"] == "courier"


def test_quoted_lines_are_not_read_as_fields():
    assert fields_from_body("> patient_name: Someone Else\nthanks") == {}


def test_acroform_values_are_cleaned():
    fields = fields_from_acroform({"patient_name": " Maria  Rossi ", "requestor_role": "/patient",
                                   "share_with_referring_physician": "/Yes", "unrelated": "x",
                                   "patient_email": "<Maria@Example.NET>", "condition": ""})
    assert fields == {"patient_name": "Maria Rossi", "requestor_role": "patient",
                      "share_with_referring_physician": "yes", "patient_email": "maria@example.net"}


def test_dates_are_normalised_day_first():
    assert normalise_date("12/04/1961") == "1961-04-12"
    assert normalise_date("12.04.1961") == "1961-04-12"
    assert normalise_date("1961-4-12") == "1961-04-12"
    assert normalise_date("31/02/1961") is None
    assert normalise_date("soon") is None


def test_form_problems_name_missing_and_invalid_fields():
    problems = form_problems({"patient_name": "A B", "patient_birth_date": "yesterday",
                              "requestor_role": "referring_physician", "condition": "x", "delivery": "pigeon"})
    assert ("patient_birth_date", "invalid_date") in problems
    assert ("referring_physician_code", "missing") in problems
    assert ("delivery", "invalid_choice") in problems
    assert form_problems({}) == [(f, "missing") for f in ("patient_name", "patient_birth_date",
                                                          "requestor_role", "condition")]
