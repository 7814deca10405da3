"""Every message mailbot can send, rendered for one fixed case in every language, matches its
golden file in tests/golden/messages/ (re-record with `python tests/golden.py --record`)."""

from __future__ import annotations

import pytest

from golden import GOLDEN, golden_path, messages, renderer, text_of

RECORD = "python tests/golden.py --record"
ALL = list(messages())


def test_every_message_has_a_golden_file_and_every_golden_file_a_message():
    expected = {golden_path(p, v, lang) for p, v, lang, _ in ALL}
    missing = sorted(str(p.relative_to(GOLDEN)) for p in expected if not p.is_file())
    stale = sorted(str(p.relative_to(GOLDEN)) for p in set(GOLDEN.rglob("*.txt")) - expected)
    assert not missing, f"no golden file for {', '.join(missing)}: run `{RECORD}` and review the new files"
    assert not stale, f"golden files of no message: {', '.join(stale)}: run `{RECORD}`"


def test_the_fixed_case_covers_every_language_and_template():
    purposes = {p for p, _, _, _ in ALL}
    assert {"triage/new_case", "specialist/new_case", "admin/notice", "requestor/payment_request"} <= purposes
    assert {lang for _, _, lang, _ in ALL} >= {"en", "it"}


SHARED = renderer()


@pytest.mark.parametrize("purpose,variant,language,context", ALL,
                         ids=[f"{p}{'.' + v if v else ''}.{lang}" for p, v, lang, _ in ALL])
def test_message_text_matches_its_golden_file(purpose, variant, language, context):
    path = golden_path(purpose, variant, language)
    if not path.is_file():
        pytest.fail(f"{path} is missing: run `{RECORD}`")
    actual = text_of(purpose, language, context, SHARED)
    assert actual == path.read_text(encoding="utf-8"), (
        f"{purpose} ({language}) reads differently from {path}; if the change is meant, run `{RECORD}` "
        "and commit the diff")
