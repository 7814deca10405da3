"""Which condition of the rules the form's free-text `condition` names (case/accent-insensitive)."""

from __future__ import annotations

import re

from mailbot.rulebook.models import fold
from mailbot.rulebook.models import Rulebook


def match_condition(text: str, rulebook: Rulebook) -> str | None:
    """The condition id whose longest alias (or id or title) occurs as whole words in `text`."""
    folded = f" {fold(text)} "
    if not folded.strip():
        return None
    best: tuple[int, str] | None = None
    for cond_id, cond in rulebook.conditions.items():
        names = [*cond.aliases, cond_id.replace("_", " "), *cond.title.texts()]
        for name in names:
            alias = fold(name)
            if alias and re.search(rf"(?<![a-z0-9]){re.escape(alias)}(?![a-z0-9])", folded):
                if best is None or len(alias) > best[0]:
                    best = (len(alias), cond_id)
    return best[1] if best else None
