"""ReplySpec -> bytes of a MIME message. Pure given the template folder.

A template's first line is `Subject: ...`; the rest is the text body. The case ref in square
brackets is prefixed to every subject so any reply finds its case, and stays on the first line
of the header however long the subject (`headers`). Everything the
sender wrote reaches the templates and the attachment names cleaned and cut (`quoting`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from datetime import datetime
from pathlib import Path
from typing import Sequence

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from mailbot.errors import MailbotError
from mailbot.replies.headers import FoldedSubject
from mailbot.replies.html import text_to_html
from mailbot.replies.quoting import clean_filename, quote_context
from mailbot.workflow.model import ReplySpec


_MESSAGE_ID = re.compile(r"<[!-;=?-~]{1,250}>")   # printable ASCII, no space or angle bracket inside


def message_id_ok(value: str) -> bool:
    """A sender's Message-ID is echoed in our threading headers only when it is a plain one."""
    return bool(_MESSAGE_ID.fullmatch(value))


class TemplateMissing(MailbotError):
    """A template the state table names does not exist for a configured language."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    raw: bytes


class Renderer:
    def __init__(self, template_dirs: Path | Sequence[Path], *, office_name: str, office_address: str):
        """`template_dirs` in order of precedence: a template in the first folder that has it wins
        (an office's own wording before the packaged templates)."""
        dirs = [template_dirs] if isinstance(template_dirs, Path) else list(template_dirs)
        self.template_dir = Path(dirs[-1])   # the packaged templates, named in start-up errors
        self.env = Environment(loader=FileSystemLoader([str(d) for d in dirs]), undefined=StrictUndefined,
                               trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                               autoescape=False)
        self.office_name = office_name
        self.office_address = office_address

    def check_templates(self, purposes, languages) -> None:
        """At start-up: every template the workflow may send exists in every office language."""
        known = set(self.env.list_templates())
        missing = [f"{self.template_dir / f'{p}.{lang}.txt.j2'}" for p in purposes for lang in languages
                   if f"{p}.{lang}.txt.j2" not in known]
        if missing:
            raise TemplateMissing("template(s) missing: " + ", ".join(missing)
                                  + "; add them, or remove the language from [office] languages")

    def text(self, purpose: str, language: str, context: dict) -> tuple[str, str]:
        name = f"{purpose}.{language}.txt.j2"
        rendered = self.env.get_template(name).render(**context)
        first, _, body = rendered.partition("\n")
        if not first.startswith("Subject:"):
            raise ValueError(f"template {name} must start with a 'Subject:' line")
        body = re.sub(r"\n[ \t]*(\n[ \t]*)+\n", "\n\n", body)  # templates may be generous with blank lines
        return first[len("Subject:"):].strip(), body.strip("\n") + "\n"

    def render(self, spec: ReplySpec, *, case_ref: str | None, message_id: str, date: datetime,
               in_reply_to: str = "", references: tuple[str, ...] = (),
               attachments: list[tuple[str, bytes]] = (), sender: tuple[str, str] | None = None) -> Rendered:
        """`sender`: (name, address) of the From header, when not the office's (a hospital's)."""
        context = quote_context({**spec.context, "case_ref": case_ref or ""})
        subject, body = self.text(spec.purpose, spec.language, context)
        if case_ref:
            subject = f"[{case_ref}] {subject}"
        msg = EmailMessage()
        msg["From"] = formataddr(sender or (self.office_name, self.office_address))
        msg["To"] = ", ".join(spec.to)
        msg["Subject"] = FoldedSubject(subject)   # the ref always on the header's first line
        msg["Date"] = format_datetime(date)
        msg["Message-ID"] = message_id
        in_reply_to = in_reply_to if message_id_ok(in_reply_to) else ""
        references = tuple(r for r in references if message_id_ok(r))
        if in_reply_to:
            msg["In-Reply-To"] = in_reply_to
        refs = [r for r in references if r] + ([in_reply_to] if in_reply_to and in_reply_to not in references else [])
        if refs:
            msg["References"] = " ".join(refs[-20:])
        msg["Auto-Submitted"] = spec.auto_submitted
        msg["X-Auto-Response-Suppress"] = "All"
        if case_ref:
            msg["X-Mailbot-Case"] = case_ref
        msg.set_content(body, subtype="plain", charset="utf-8")
        msg.add_alternative(text_to_html(body, subject), subtype="html", charset="utf-8")
        for filename, data in attachments:
            msg.add_attachment(data, maintype="application", subtype="pdf", filename=clean_filename(filename))
        msg["Content-Language"] = spec.language  # after set_content, which drops Content-* headers
        return Rendered(subject=subject, raw=bytes(msg))
