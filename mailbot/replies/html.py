"""Plain reply text -> simple, accessible HTML: headings, paragraphs, real lists, no remote content.

Templates hold the wording once (as text); the HTML part is derived so the two never disagree.
The text conventions it reads:

* a paragraph is lines between blank lines; its lines stay lines (`<br>`), as in the text;
* `- ` (or `* `) starts a list item, a line indented by two spaces continues it; consecutive
  items are one `<ul>`, wherever they stand in a paragraph;
* a short label ending in `:` right before a list ("Documents attached:") is that list's
  heading (`<h2>`); a longer line, or one that reads as a sentence (a comma, a figure), stays a
  paragraph that introduces the list.

Styles are inline, since many mail clients drop `<style>` blocks.
"""

from __future__ import annotations

from html import escape

_BODY = ("font-family: Arial, Helvetica, sans-serif; font-size: 15px; line-height: 1.5; color: #1a1a1a; "
         "max-width: 640px")
_H2 = "font-size: 16px; font-weight: bold; margin: 18px 0 6px 0"
_UL = "margin: 0 0 12px 0; padding-left: 22px"
_P = "margin: 0 0 12px 0"
HEADING_MAX = 45      # characters of a label that becomes a heading


def text_to_html(text: str, title: str) -> str:
    blocks = [b for b in text.replace("\r\n", "\n").split("\n\n") if b.strip()]
    body = "\n".join(part for block in blocks for part in _block([ln.rstrip() for ln in block.split("\n")
                                                                  if ln.strip()]))
    return (
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{escape(title)}</title></head>\n"
        f"<body style=\"{_BODY}\">\n{body}\n</body></html>\n"
    )


def _is_item(line: str) -> bool:
    return line.lstrip().startswith(("- ", "* "))


def _is_heading(line: str) -> bool:
    label = line.strip()
    return (label.endswith(":") and len(label) <= HEADING_MAX and label[:1].isupper()
            and not any(ch.isdigit() or ch in ",;." for ch in label[:-1]))


def _block(lines: list[str]) -> list[str]:
    """One paragraph of text as HTML elements: runs of items become lists, the rest paragraphs."""
    out: list[str] = []
    para: list[str] = []
    i = 0
    while i < len(lines):
        if _is_item(lines[i]):
            items: list[str] = []
            while i < len(lines) and (_is_item(lines[i]) or (items and lines[i].startswith("  "))):
                if _is_item(lines[i]):
                    items.append(escape(lines[i].lstrip()[2:].strip()))
                else:
                    items[-1] += "<br>" + escape(lines[i].strip())
                i += 1
            if para and _is_heading(para[-1]):
                heading = para.pop()
                _flush(out, para)
                out.append(f"<h2 style=\"{_H2}\">{escape(heading.strip()[:-1])}</h2>")
            _flush(out, para)
            out.append(f"<ul style=\"{_UL}\">" + "".join(f"<li>{item}</li>" for item in items) + "</ul>")
            continue
        para.append(lines[i])
        i += 1
    _flush(out, para)
    return out


def _flush(out: list[str], para: list[str]) -> None:
    if para:
        out.append(f"<p style=\"{_P}\">" + "<br>".join(escape(ln.strip()) for ln in para) + "</p>")
        para.clear()
