"""Every message mailbot can send, rendered for one fixed case in every language, matches its
golden file in tests/golden/messages/ (re-record with `python tests/golden.py --record`)."""

from __future__ import annotations

import shutil

import pytest

from golden import GOLDEN, fixed_case, golden_path, messages, renderer, text_of
from mailbot.replies.render import Renderer
from mailbot.resources import templates_dir

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


def test_a_new_template_is_found_without_listing_it_and_needs_its_golden_file(tmp_path):
    folder = tmp_path / "templates"
    shutil.copytree(templates_dir(), folder)
    for language in ("en", "it"):
        (folder / "requestor" / f"payment_received.{language}.txt.j2").write_text(
            "Subject: Payment received\nDear {{ requestor_name }},\n\nthank you.\n", encoding="utf-8")
    found = [(p, v, lang) for p, v, lang, _ in messages(folder)]
    assert ("requestor/payment_received", "", "it") in found
    assert not golden_path("requestor/payment_received", "", "it").is_file()


def test_a_name_the_fixed_case_lacks_says_where_to_add_it(tmp_path):
    (tmp_path / "requestor").mkdir()
    (tmp_path / "requestor" / "odd.en.txt.j2").write_text("Subject: Odd\n{{ tracking_number }}\n", encoding="utf-8")
    odd = Renderer([tmp_path, templates_dir()], office_name="O", office_address="o@example.org")
    with pytest.raises(AssertionError, match="tracking_number.*fixed_case"):
        text_of("requestor/odd", "en", fixed_case("en"), odd)


def test_every_reply_the_decision_snapshot_records_renders_in_its_language():
    """The fixed case is written by hand; the snapshot's replies are what the workflow really gives
    the templates (corpus, golden mails, a scripted office): each one must render."""
    import json
    from pathlib import Path

    from mailbot.replies.quoting import quote_context

    failures, count = [], 0
    for path in sorted((Path(__file__).parent / "decisions").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            recorded = json.loads(line)
            for spec in recorded["decision"].get("replies", []):
                count += 1
                context = quote_context({**spec["context"], "case_ref": recorded.get("case") or ""})
                try:
                    SHARED.text(spec["purpose"], spec["language"], context)
                except Exception as exc:  # noqa: BLE001 - every failure is listed
                    failures.append(f"{path.name} {recorded['mail']}: {spec['purpose']}: {exc}")
    assert count > 200
    assert not failures, "\n".join(failures[:20])
