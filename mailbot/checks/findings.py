"""Finding: one thing a check noticed, as data the replies, the case view and replay can print."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# Codes that keep a case from being complete. File findings are told to the sender of the file;
# a case is complete when no *requirement* finding remains, whatever old files were wrong.
REQUIREMENT_CODES = frozenset({
    "request_form_missing", "form_field_missing", "form_field_invalid", "condition_unknown",
    "document_missing", "document_any_of_missing", "consent_missing", "consent_mismatch",
    "condition_not_offered",   # the case's hospital does not offer it (hospitals.toml)
})
FILE_CODES = frozenset({"file_problem", "file_badly_named", "file_unrecognised", "file_duplicate"})


@dataclass(frozen=True)
class Finding:
    code: str
    subject: str = ""                       # document id, field name, or file name
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def blocking(self) -> bool:
        return self.code in REQUIREMENT_CODES

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Finding":
        return cls(code=data["code"], subject=data.get("subject", ""), detail=dict(data.get("detail", {})))
