"""The HTML part as a real browser builds it: headless Chromium parses the messages of the fixed
case (tests/golden.py) and dumps its DOM; the test checks the structure (headings, lists, one
item per document or command), never pixels. Without Chromium the browser test skips, saying how
to install it, or fails under MAILBOT_REQUIRE_SERVERS=1 (CI), as the server tests do."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from golden import fixed_case, rendered
from mailbot.replies.html import text_to_html
from servers import require_or_skip

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Node:
    def __init__(self, tag: str, attrs: dict[str, str], parent: "Node | None"):
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list["Node | str"] = []

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else ("\n" if c.tag == "br" else c.text()) for c in self.children)

    def find_all(self, tag: str) -> list["Node"]:
        found = []
        for c in self.children:
            if isinstance(c, Node):
                found += ([c] if c.tag == tag else []) + c.find_all(tag)
        return found

    def elements(self) -> list["Node"]:
        return [c for c in self.children if isinstance(c, Node)]


class _Tree(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {}, None)
        self.at = self.root

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs), self.at)
        self.at.children.append(node)
        if tag not in VOID:
            self.at = node

    def handle_endtag(self, tag):
        node = self.at
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.at = node.parent

    def handle_data(self, data):
        self.at.children.append(data)


def dom(html: str) -> Node:
    tree = _Tree()
    tree.feed(html)
    return tree.root


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    require_or_skip("Chromium not installed (the HTML part is checked in a real browser): "
                    "apt-get install chromium (Debian), or run scripts/test, which installs it")
    raise AssertionError("unreachable")


def browser_dom(html: str, tmp_path: Path) -> Node:
    page = tmp_path / "message.html"
    page.write_text(html, encoding="utf-8")
    result = subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                             f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri()],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "<body" in result.stdout, result.stderr[-2000:]
    return dom(result.stdout)


MESSAGES = [("triage/new_case", "en"), ("triage/new_case", "it"), ("specialist/new_case", "en"),
            ("requestor/missing_documents", "en"), ("requestor/payment_request", "it")]


def _html_part(purpose: str, language: str) -> tuple[str, str]:
    message = rendered(purpose, language, fixed_case(language))
    return message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[tuple[str, str], Node]:
    """Every message above in one page (one browser start), each body in its own <article>."""
    tmp = tmp_path_factory.mktemp("chromium")
    articles = []
    for purpose, language in MESSAGES:
        _text, html = _html_part(purpose, language)
        body = re.search(r"<body[^>]*>(.*)</body>", html, re.S).group(1)
        articles.append(f'<article id="{purpose.replace("/", "-")}-{language}">{body}</article>')
    page = browser_dom("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>t</title></head><body>"
                       + "\n".join(articles) + "</body></html>", tmp)
    return {(p, lang): next(a for a in page.find_all("article") if a.attrs["id"] == f"{p.replace('/', '-')}-{lang}")
            for p, lang in MESSAGES}


def _items(text: str) -> list[str]:
    return [ln[2:].strip() for ln in text.split("\n") if ln.startswith("- ")]


@pytest.mark.parametrize("purpose,language", MESSAGES)
def test_every_text_list_item_is_a_list_item_in_the_browser(pages, purpose, language):
    text, _html = _html_part(purpose, language)
    article = pages[(purpose, language)]
    lis = [li.text().strip() for li in article.find_all("li")]
    assert lis == _items(text)
    for element in article.find_all("p") + article.find_all("li"):
        assert not re.search(r"(^|\n)\s*[-*] ", element.text()), f"a '- ' line left as text: {element.text()!r}"


def test_triage_mail_has_headed_lists_of_documents_and_commands(pages):
    article = pages[("triage/new_case", "en")]
    blocks = article.elements()
    headings = [(i, el.text()) for i, el in enumerate(blocks) if el.tag == "h2"]
    assert ("Documents attached" in [h for _, h in headings])
    at = next(i for i, h in headings if h == "Documents attached")
    documents = blocks[at + 1]
    assert documents.tag == "ul"
    assert [li.text() for li in documents.find_all("li")][:3] == [
        "histology_report_2026-03-02.pdf (Histology (pathology) report)",
        "mammography_report_2026-02-20.pdf (Mammography report)",
        "oncologist_report_2026-03-10.pdf (Oncologist's report)"]
    commands = next(el for el in blocks if el.tag == "ul" and "APPROVE" in el.text())
    lines = [li.text() for li in commands.find_all("li")]
    assert "APPROVE oncological medical_oncology" in lines and lines[-1] == "REJECT: <reason>"
    assert all(el.tag in ("p", "h2", "ul") for el in blocks)


def test_the_whole_document_parses_as_one_html_page_with_its_title(tmp_path):
    _text, html = _html_part("specialist/new_case", "it")
    page = browser_dom(html, tmp_path)
    assert [t.text() for t in page.find_all("title")] == ["[SO-2026-00042] Richiesta di secondo parere: "
                                                          "Tumore della mammella"]
    body = page.find_all("body")[0]
    assert body.find_all("h2")[0].text() == "Documenti allegati"
    assert len(body.find_all("ul")[0].find_all("li")) == 3


# -- the converter itself, no browser -----------------------------------------------------------

def test_a_label_before_a_list_is_its_heading_and_a_sentence_stays_a_paragraph():
    html = text_to_html("Dear Ann,\n\nWe received:\n- a.pdf\n- b.pdf\n\nTo go ahead, please pay EUR 500.00:\n"
                        "- IBAN: X\n- BIC: Y\n\nBye", "t")
    tree = dom(html).find_all("body")[0]
    assert [el.tag for el in tree.elements()] == ["p", "h2", "ul", "p", "ul", "p"]
    assert tree.find_all("h2")[0].text() == "We received"
    assert [li.text() for li in tree.find_all("ul")[0].find_all("li")] == ["a.pdf", "b.pdf"]


def test_continuation_lines_stay_in_their_item_and_text_is_escaped():
    html = text_to_html("- The form:\n  patient_name: <x>\n- Next & last", "t")
    items = dom(html).find_all("li")
    assert [li.text() for li in items] == ["The form:\npatient_name: <x>", "Next & last"]
    assert "&lt;x&gt;" in html and "<x>" not in html
