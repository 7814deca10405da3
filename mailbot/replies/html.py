"""Plain reply text -> simple, accessible HTML: paragraphs, bullet lists, no remote content.

Templates hold the wording once (as text); the HTML part is derived so the two never disagree.
"""

from __future__ import annotations

from html import escape


def text_to_html(text: str, title: str) -> str:
    blocks = [b for b in text.replace("\r\n", "\n").split("\n\n") if b.strip()]
    parts: list[str] = []
    for block in blocks:
        lines = [ln.rstrip() for ln in block.split("\n") if ln.strip()]
        if all(ln.lstrip().startswith(("- ", "* ")) or ln.startswith("  ") for ln in lines) and \
                lines[0].lstrip().startswith(("- ", "* ")):
            items: list[str] = []
            for ln in lines:
                if ln.lstrip().startswith(("- ", "* ")):
                    items.append(escape(ln.lstrip()[2:]))
                elif items:
                    items[-1] += "<br>" + escape(ln.strip())
            parts.append("<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>")
        else:
            parts.append("<p>" + "<br>".join(escape(ln.strip()) for ln in lines) + "</p>")
    body = "\n".join(parts)
    return (
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
        f"<title>{escape(title)}</title></head>\n"
        "<body style=\"font-family: Arial, Helvetica, sans-serif; font-size: 15px; line-height: 1.5; "
        "color: #1a1a1a; max-width: 640px\">\n"
        f"{body}\n</body></html>\n"
    )
