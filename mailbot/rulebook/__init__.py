"""The admin-edited rule files (an office's `rules/*.toml`; the packaged defaults in
`mailbot/default_rules/`), loaded and validated into one typed `Rulebook`.

    from mailbot.rulebook import load_rulebook, default_rules_dir
    rules = load_rulebook(default_rules_dir())      # raises RulesError("file:line: key: ...")
    problems = check_rules(Path("rules"))           # [] when valid (`mailbot rules check`)
"""

from mailbot.rulebook.lines import key_lines
from mailbot.resources import default_rules_dir
from mailbot.rulebook.load import RULE_FILES, check_rules, load_rulebook
from mailbot.rulebook.models import (
    CONSULTATION_TYPES,
    AdministrativeDocument,
    Condition,
    DocumentType,
    NamingPolicy,
    PriceItem,
    Pricing,
    Rulebook,
    Staff,
    StaffMember,
    Title,
    fold,
)

__all__ = [
    "CONSULTATION_TYPES",
    "RULE_FILES",
    "AdministrativeDocument",
    "Condition",
    "DocumentType",
    "NamingPolicy",
    "PriceItem",
    "Pricing",
    "Rulebook",
    "Staff",
    "StaffMember",
    "Title",
    "check_rules",
    "default_rules_dir",
    "fold",
    "key_lines",
    "load_rulebook",
]
