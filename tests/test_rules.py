"""The rule files: the shipped set is valid and medically sensible; broken copies are reported
with the file, line and key of each problem."""

from __future__ import annotations

import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from mailbot.errors import RulesError
from mailbot.rulebook import (
    CONSULTATION_TYPES,
    RULE_FILES,
    Rulebook,
    check_rules,
    default_rules_dir,
    fold,
    key_lines,
    load_rulebook,
)

PROBLEM = re.compile(r"^(?P<file>.+?):(?P<line>\d+): (?P<key>\S+): (?P<what>.+)$")

CONDITIONS = {
    # id: (an English alias, an Italian alias) a patient might write in the form
    "breast_cancer": ("breast carcinoma", "tumore al seno"),
    "lung_cancer": ("non-small cell lung cancer", "tumore al polmone"),
    "colorectal_cancer": ("colon cancer", "tumore del retto"),
    "prostate_cancer": ("prostate cancer", "carcinoma prostatico"),
    "melanoma": ("malignant melanoma", "melanoma cutaneo"),
    "lymphoma": ("Hodgkin lymphoma", "linfoma non Hodgkin"),
    "brain_tumour": ("glioblastoma", "tumore cerebrale"),
    "thyroid_cancer": ("papillary thyroid carcinoma", "carcinoma della tiroide"),
    "sarcoma": ("soft tissue sarcoma", "sarcoma dei tessuti molli"),
    "cardio_oncology": ("cardiotoxicity", "cardiotossicità"),
}


@pytest.fixture(scope="module")
def rules() -> Rulebook:
    return load_rulebook(default_rules_dir())


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), target)
    return target


def edit(directory: Path, name: str, old: str, new: str) -> None:
    path = directory / name
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} should occur once in {name}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def line_with(directory: Path, name: str, needle: str) -> int:
    lines = (directory / name).read_text(encoding="utf-8").splitlines()
    found = [n for n, line in enumerate(lines, start=1) if needle in line]
    assert len(found) == 1, f"{needle!r} should be on one line of {name}, found {found}"
    return found[0]


def parsed(problems: list[str]) -> list[dict]:
    out = []
    for problem in problems:
        match = PROBLEM.match(problem)
        assert match, f"problem not in 'file:line: key: what' form: {problem!r}"
        out.append({**match.groupdict(), "line": int(match["line"])})
    return out


def only_problem(directory: Path) -> dict:
    problems = check_rules(directory)
    assert len(problems) == 1, problems
    with pytest.raises(RulesError) as caught:
        load_rulebook(directory)
    assert caught.value.problems == problems
    return parsed(problems)[0]


# --- the shipped rules --------------------------------------------------------------------------


def test_shipped_rules_are_valid(rules: Rulebook):
    assert check_rules(default_rules_dir()) == []
    assert default_rules_dir() == Path(__file__).resolve().parents[1] / "mailbot" / "default_rules"
    assert {f"{name}" for name in RULE_FILES} <= {p.name for p in default_rules_dir().iterdir()}
    assert isinstance(rules, Rulebook)


def test_all_ten_conditions_with_bilingual_titles_and_aliases(rules: Rulebook):
    assert set(CONDITIONS) <= set(rules.conditions)
    for cid, (english, italian) in CONDITIONS.items():
        condition = rules.conditions[cid]
        assert condition.id == cid
        assert {"en", "it"} <= set(condition.title.languages)
        assert condition.title.get("en") != condition.title.get("it") or cid in ("melanoma", "sarcoma")
        names = {fold(a) for a in condition.aliases} | {fold(condition.title.get("en")), fold(condition.title.get("it"))}
        assert fold(english) in names and fold(italian) in names, cid
        assert len(condition.aliases) >= 8, cid


def test_every_condition_resolves_every_document_id(rules: Rulebook):
    known = rules.all_document_types()
    for condition in rules.conditions.values():
        ids = condition.document_ids()
        assert ids, condition.id
        assert set(ids) <= set(known), (condition.id, set(ids) - set(known))
        assert all(group for group in condition.any_of)
        assert set(condition.notes) <= set(ids)
        assert set(condition.consultation_types) <= set(CONSULTATION_TYPES)
        assert condition.consultation_types and condition.specialties


def test_aliases_are_unique_across_conditions(rules: Rulebook):
    owner: dict[str, str] = {}
    for condition in rules.conditions.values():
        folded = [fold(alias) for alias in condition.aliases]
        assert len(folded) == len(set(folded)), condition.id
        for name in folded:
            assert owner.setdefault(name, condition.id) == condition.id, name
    assert len(owner) > 150


def test_medical_content(rules: Rulebook):
    c = rules.conditions
    for condition in c.values():
        assert "oncologist_report" in condition.required, condition.id
        assert "blood_tests" not in condition.required
        assert all("blood_tests" not in group for group in condition.any_of)
    assert c["breast_cancer"].any_of == (
        ("mammography_report", "breast_ultrasound_report", "breast_mri_report"),
    )
    assert "histology_report" in c["breast_cancer"].required
    assert "ki-67" in c["breast_cancer"].notes["histology_report"].get("en").lower()
    assert {"colonoscopy_report", "histology_report", "ct_report", "cea_test"} <= set(c["colorectal_cancer"].required)
    assert "rectal_mri_report" in c["colorectal_cancer"].optional
    assert {"psa_history", "prostate_biopsy_report", "prostate_mri_report"} <= set(c["prostate_cancer"].required)
    assert "molecular_test_report" in c["lung_cancer"].optional
    assert "sentinel_node_report" in c["melanoma"].optional
    assert {"histology_report", "pet_ct_report"} <= set(c["lymphoma"].required)
    assert {"brain_mri_report", "histology_report"} <= set(c["brain_tumour"].required)
    assert {"neck_ultrasound_report", "thyroid_cytology_report"} <= set(c["thyroid_cancer"].required)
    assert {"mri_report", "histology_report"} <= set(c["sarcoma"].required)
    assert {"echocardiogram_report", "ecg_report", "cardiology_letter", "treatment_history"} <= set(
        c["cardio_oncology"].required
    )
    assert c["cardio_oncology"].consultation_types == ("cardio_oncological",)
    for treatment in ("chemotherapy_report", "radiotherapy_report", "surgical_report"):
        assert all(treatment not in condition.required for condition in c.values())


def test_documents_have_descriptions_and_distinct_keywords(rules: Rulebook):
    by_keyword: dict[str, set[str]] = {}
    for doc in rules.all_document_types().values():
        assert doc.description is not None and doc.description.get("en") and "it" in doc.description.languages, doc.id
        assert doc.filename_keywords and doc.content_keywords, doc.id
        for word in doc.filename_keywords:
            by_keyword.setdefault(fold(word), set()).add(doc.id)
    shared = {word: ids for word, ids in by_keyword.items() if len(ids) > 1}
    assert shared == {}
    for generic in ("report", "referto", "patient", "paziente", "carcinoma", "diagnosis"):
        assert all(generic not in doc.filename_keywords for doc in rules.documents.values())
    histology = rules.documents["histology_report"]
    assert {"istologico", "biopsia", "anatomia patologica"} <= set(histology.filename_keywords)
    assert {"ki-67", "her2", "immunohistochemistry"} <= set(histology.content_keywords)


def test_administrative_forms(rules: Rulebook):
    admin = rules.administrative
    assert admin["request_form"].required_when == "always"
    assert admin["consent_form"].required_when == "requestor_not_patient"
    assert admin["identity_document"].required_when == "never"
    assert "Second opinion request form" in {k for k in admin["request_form"].content_keywords} | {
        admin["request_form"].title.get("en")
    }
    assert {"richiesta", "modulo"} <= set(admin["request_form"].filename_keywords)
    assert "modulo di consenso" in admin["consent_form"].content_keywords
    assert not set(admin) & set(rules.documents)


def test_pricing(rules: Rulebook):
    p = rules.pricing
    assert (p.currency, p.base, p.update, p.update_months, p.courier) == (
        "EUR", Decimal("500.00"), Decimal("350.00"), 12, Decimal("18.00"),
    )
    assert str(p.base) == "500.00"
    assert p.extras["in_depth_consultation"].amount == Decimal("250.00")
    assert p.extras["histological_review"].amount == Decimal("300.00")
    assert all(extra.needs_patient_approval and "it" in extra.title.languages for extra in p.extras.values())


def test_staff_covers_every_specialty_in_both_languages(rules: Rulebook):
    staff = rules.staff
    assert len(staff.triage) == 2 and staff.admins
    for condition in rules.conditions.values():
        for specialty in condition.specialties:
            holders = [s for s in staff.specialists if specialty in s.specialties]
            assert holders, specialty
            assert any("it" in s.languages for s in holders), specialty
    assert any("en" in s.languages for s in staff.specialists)
    emails = [m.email for m in (*staff.triage, *staff.specialists, *staff.admins)]
    assert all(e.endswith("@example.org") for e in emails)


@pytest.mark.parametrize(
    "stem, generic",
    [
        ("scan0001", True), ("Scansione 003", True), ("IMG_2034", True), ("DSC_0042", True),
        ("20260302", True), ("documento", True), ("Senza titolo", True), ("untitled", True),
        ("WhatsApp Image 2026-03-02 at 10.15.22", True), ("CamScanner 03-02-2026 10.15", True),
        ("histology_report_2026-03-02", False), ("referto_istologico", False),
        ("scansione_tc_torace", False), ("ct_report", False),
    ],
)
def test_naming_generic_names(rules: Rulebook, stem: str, generic: bool):
    from mailbot.documents.naming import is_generic  # the check that reads these entries

    assert is_generic(stem, rules.naming.generic_names) is generic
    assert rules.naming.allowed_extensions == ("pdf",)
    assert (rules.naming.min_length, rules.naming.max_length) == (5, 80)


# --- the line finder ----------------------------------------------------------------------------


def test_key_lines_tables_arrays_and_inline_keys():
    text = (
        "# comment [not.a.table]\n"               # 1
        "[documents.histology_report]\n"          # 2
        'title = { en = "H", it = "I" }\n'        # 3
        "filename_keywords = [\n"                 # 4
        '  "a#b",  # a comment\n'                 # 5
        "  'c',\n"                                # 6
        "]\n"                                     # 7
        'any_of = [["x", "y"],\n'                 # 8
        '  ["z"]]\n'                              # 9
        "\n"                                      # 10
        "[[specialists]]\n"                       # 11
        'name = """two\n'                         # 12
        'lines"""\n'                              # 13
        "[[specialists]]\n"                       # 14
        "email = 'x@example.org'\n"               # 15
        '"quoted.key" = 1\n'                      # 16
        "day = 2026-03-02\n"                      # 17
        "a.b = true\n"                            # 18
    )
    lines = key_lines(text)
    assert lines[("documents",)] == 2
    assert lines[("documents", "histology_report")] == 2
    assert lines[("documents", "histology_report", "title", "it")] == 3
    assert lines[("documents", "histology_report", "filename_keywords")] == 4
    assert lines[("documents", "histology_report", "filename_keywords", 0)] == 5
    assert lines[("documents", "histology_report", "filename_keywords", 1)] == 6
    assert lines[("documents", "histology_report", "any_of", 0, 1)] == 8
    assert lines[("documents", "histology_report", "any_of", 1, 0)] == 9
    assert lines[("specialists", 0)] == 11
    assert lines[("specialists", 0, "name")] == 12
    assert lines[("specialists", 1)] == 14
    assert lines[("specialists", 1, "email")] == 15
    assert lines[("specialists", 1, "quoted.key")] == 16
    assert lines[("specialists", 1, "day")] == 17
    assert lines[("specialists", 1, "a", "b")] == 18
    assert ("not", "a", "table") not in lines


# --- broken copies ------------------------------------------------------------------------------


def test_toml_syntax_error_names_file_and_line(rules_copy: Path):
    edit(rules_copy, "conditions.toml", 'specialties = ["urology",', 'specialties = ["urology",, ')
    problem = only_problem(rules_copy)
    assert problem["file"].endswith("conditions.toml")
    assert problem["line"] == line_with(rules_copy, "conditions.toml", '["urology",,')
    assert problem["key"] == "conditions.prostate_cancer"
    assert "TOML syntax error" in problem["what"]


def test_unknown_key_in_a_condition(rules_copy: Path):
    edit(rules_copy, "conditions.toml", '[conditions.melanoma]\n', '[conditions.melanoma]\nurgency = "high"\n')
    problem = only_problem(rules_copy)
    assert problem["file"].endswith("conditions.toml")
    assert problem["line"] == line_with(rules_copy, "conditions.toml", 'urgency = "high"')
    assert problem["key"] == "conditions.melanoma.urgency"
    assert "unknown key" in problem["what"] and "aliases" in problem["what"]


def test_unknown_document_id_in_required(rules_copy: Path):
    edit(rules_copy, "conditions.toml", '"oncologist_report", "psa_history",', '"oncologist_report", "psa_histroy",')
    problem = only_problem(rules_copy)
    assert problem["file"].endswith("conditions.toml")
    assert problem["line"] == line_with(rules_copy, "conditions.toml", '"psa_histroy"')
    assert problem["key"] == "conditions.prostate_cancer.required[1]"
    assert "'psa_histroy'" in problem["what"] and "did you mean 'psa_history'" in problem["what"]


def test_unknown_document_id_in_a_multiline_any_of(rules_copy: Path):
    edit(rules_copy, "conditions.toml",
         'any_of = [["mammography_report", "breast_ultrasound_report", "breast_mri_report"]]',
         'any_of = [\n  ["mammography_report",\n   "breast_echo", "breast_mri_report"],\n]')
    problem = only_problem(rules_copy)
    assert problem["line"] == line_with(rules_copy, "conditions.toml", '"breast_echo"')
    assert problem["key"] == "conditions.breast_cancer.any_of[0][1]"


def test_bad_email_in_staff(rules_copy: Path):
    edit(rules_copy, "staff.toml", 'email = "sara.colombo@example.org"', 'email = "sara.colombo@"')
    problem = only_problem(rules_copy)
    assert problem["file"].endswith("staff.toml")
    assert problem["line"] == line_with(rules_copy, "staff.toml", '"sara.colombo@"')
    assert problem["key"] == "specialists[5].email"
    assert "email" in problem["what"] and "'sara.colombo@'" in problem["what"]


def test_the_secretariat_is_a_specialists_address(rules: Rulebook, rules_copy: Path):
    romano = next(m for m in rules.staff.specialists if m.email == "giulia.romano@example.org")
    assert romano.secretariat == "breast.surgery.office@example.org"
    assert rules.pricing.additional_opinion == Decimal("500.00")
    edit(rules_copy, "staff.toml", 'email = "francesca.rinaldi@example.org"',
         'email = "francesca.rinaldi@example.org"\nsecretariat = "triage.office@example.org"')
    problem = only_problem(rules_copy)
    assert problem["line"] == line_with(rules_copy, "staff.toml", '"triage.office@example.org"')
    assert problem["key"] == "triage[0].secretariat" and "only a specialist" in problem["what"]


def test_a_bad_secretariat_address(rules_copy: Path):
    edit(rules_copy, "staff.toml", 'secretariat = "breast.surgery.office@example.org"', 'secretariat = "office@"')
    problem = only_problem(rules_copy)
    assert problem["key"] == "specialists[0].secretariat" and "'office@'" in problem["what"]


def test_duplicate_email_within_a_role(rules_copy: Path):
    edit(rules_copy, "staff.toml", 'email = "luca.ricci@example.org"', 'email = "Giulia.Romano@example.org"')
    problem = only_problem(rules_copy)
    assert problem["line"] == line_with(rules_copy, "staff.toml", '"Giulia.Romano@example.org"')
    assert problem["key"] == "specialists[6].email"
    assert "already listed" in problem["what"]


def test_negative_price(rules_copy: Path):
    edit(rules_copy, "pricing.toml", "amount = 300.00", "amount = -300.00")
    problem = only_problem(rules_copy)
    assert problem["file"].endswith("pricing.toml")
    assert problem["line"] == line_with(rules_copy, "pricing.toml", "amount = -300.00")
    assert problem["key"] == "pricing.extras.histological_review.amount"
    assert "greater than or equal to 0" in problem["what"]


def test_price_with_too_many_decimals(rules_copy: Path):
    edit(rules_copy, "pricing.toml", "base = 500.00", "base = 500.005")
    problem = only_problem(rules_copy)
    assert problem["line"] == line_with(rules_copy, "pricing.toml", "base = 500.005")
    assert problem["key"] == "pricing.base"
    assert "two decimal places" in problem["what"]


def test_duplicate_alias_across_conditions(rules_copy: Path):
    edit(rules_copy, "conditions.toml", '"melanoma cutaneo", ', '"melanoma cutaneo", "Tumore al Seno", ')
    problem = only_problem(rules_copy)
    assert problem["file"].endswith("conditions.toml")
    assert problem["line"] == line_with(rules_copy, "conditions.toml", '"Tumore al Seno"')
    assert problem["key"] == "conditions.melanoma.aliases[6]"
    assert "breast_cancer" in problem["what"]
    original = line_with(rules_copy, "conditions.toml", '"tumore al seno"')
    assert f"line {original}" in problem["what"]


def test_missing_file_is_named(rules_copy: Path):
    (rules_copy / "pricing.toml").unlink()
    problem = only_problem(rules_copy)
    assert problem["file"] == str(rules_copy / "pricing.toml")
    assert problem["key"] == "pricing"
    assert "not found" in problem["what"]


def test_missing_directory(tmp_path: Path):
    problems = check_rules(tmp_path / "nowhere")
    assert len(problems) == 1 and "directory not found" in problems[0]
    with pytest.raises(RulesError):
        load_rulebook(tmp_path / "nowhere")


def test_missing_required_key_points_at_its_table(rules_copy: Path):
    edit(rules_copy, "documents.toml", 'title = { en = "Blood tests", it = "Esami del sangue" }', 'title = { en = "Blood tests" }')
    problem = only_problem(rules_copy)
    assert problem["line"] == line_with(rules_copy, "documents.toml", 'title = { en = "Blood tests" }')
    assert problem["key"] == "documents.blood_tests.title.it"
    assert "missing" in problem["what"]


def test_specialty_without_a_specialist(rules_copy: Path):
    edit(rules_copy, "conditions.toml", 'specialties = ["haematology", "radiation_oncology"]',
         'specialties = ["haematology", "paediatric_oncology"]')
    problem = only_problem(rules_copy)
    assert problem["line"] == line_with(rules_copy, "conditions.toml", '"paediatric_oncology"')
    assert problem["key"] == "conditions.lymphoma.specialties[1]"
    assert "no specialist" in problem["what"]


def test_ids_must_be_snake_case(rules_copy: Path):
    edit(rules_copy, "pricing.toml", "[pricing.extras.histological_review]", "[pricing.extras.Histological-Review]")
    problem = only_problem(rules_copy)
    assert problem["line"] == line_with(rules_copy, "pricing.toml", "Histological-Review")
    assert problem["key"] == "pricing.extras.Histological-Review"
    assert "snake_case" in problem["what"] and "'histological_review'" in problem["what"]


def test_request_form_must_exist(rules_copy: Path):
    edit(rules_copy, "administrative.toml", "[administrative.request_form]\n", "[administrative.request]\n")
    problem = only_problem(rules_copy)
    assert problem["key"] == "administrative"
    assert "request_form" in problem["what"]


def test_bad_regex_in_naming(rules_copy: Path):
    edit(rules_copy, "naming.toml", "'^dcim',", "'^dcim(',")
    problem = only_problem(rules_copy)
    assert problem["line"] == line_with(rules_copy, "naming.toml", "'^dcim(',")
    assert problem["key"].startswith("naming.generic_names[")
    assert "regular expression" in problem["what"]


def test_bad_consultation_type(rules_copy: Path):
    edit(rules_copy, "conditions.toml", 'consultation_types = ["oncological", "radiotherapy"]',
         'consultation_types = ["oncological", "palliative"]')
    problem = only_problem(rules_copy)
    assert problem["line"] == line_with(rules_copy, "conditions.toml", '"palliative"')
    assert problem["key"] == "conditions.lymphoma.consultation_types[1]"
    assert "surgical" in problem["what"]


def test_several_problems_are_all_reported_and_nothing_half_loads(rules_copy: Path):
    edit(rules_copy, "pricing.toml", "amount = 300.00", "amount = -300.00")
    edit(rules_copy, "staff.toml", 'email = "sara.colombo@example.org"', 'email = "nobody"')
    edit(rules_copy, "conditions.toml", '"oncologist_report", "psa_history",', '"oncologist_report", "psa",')
    with pytest.raises(RulesError) as caught:
        load_rulebook(rules_copy)
    files = sorted({Path(p["file"]).name for p in parsed(caught.value.problems)})
    assert files == ["conditions.toml", "pricing.toml", "staff.toml"]
    assert "pricing.toml" in str(caught.value)


def test_calendar_file_is_validated_like_the_others(rules_copy: Path):
    (rules_copy / "calendar.toml").write_text("[calendar]\nholidays = [2026-12-25]\n", encoding="utf-8")
    problems = check_rules(rules_copy)
    assert len(problems) == 1 and "calendar.toml:2: calendar.holidays: unknown key" in problems[0]


def test_a_title_is_a_text_per_language_and_a_third_language_is_data(rules_copy: Path):
    from mailbot.rulebook.models import Title
    title = Title({"en": "Blood tests", "it": "Esami del sangue", "de": "Blutuntersuchung"})
    assert title.get("de") == "Blutuntersuchung" and title.get("fr") == "Blood tests"
    assert Title(en="CT report", it="Referto TC").languages == ("en", "it")
    edit(rules_copy, "documents.toml", 'title = { en = "Blood tests", it = "Esami del sangue" }',
         'title = { en = "Blood tests", it = "Esami del sangue", EN = "x" }')
    problem = only_problem(rules_copy)
    assert problem["key"] == "documents.blood_tests.title.EN" and "two-letter code" in problem["what"]


def test_consult_pricing_and_blank_form_names_come_from_the_rules(rules_copy: Path):
    from mailbot.workflow.effects import extra_for
    rules = load_rulebook(rules_copy)
    assert extra_for("CONSULT: revisione istologica dei vetrini", rules) == "histological_review"
    assert extra_for("further in depth consultation please", rules) == "in_depth_consultation"
    assert extra_for("something else", rules) == "in_depth_consultation"   # the first extra listed
    assert rules.blank_form_filename("consent_form", "it") == "modulo_consenso_paziente.pdf"
    edit(rules_copy, "pricing.toml", 'keywords = ["histolog", "istolog"]', 'keywords = ["vetrini"]')
    edit(rules_copy, "administrative.toml", 'it = "modulo_consenso_paziente.pdf"', 'it = "consenso.pdf"')
    rules = load_rulebook(rules_copy)
    assert extra_for("rilettura dei vetrini", rules) == "histological_review"
    assert rules.blank_form_filename("consent_form", "it") == "consenso.pdf"
