"""The admin-edited rule files (`rules/*.toml`), loaded and validated into one typed `Rulebook`.

    from mailbot.rulebook import load_rulebook, default_rules_dir
    rules = load_rulebook(default_rules_dir())      # raises RulesError("file:line: key: ...")
    problems = check_rules(Path("rules"))           # [] when valid (`mailbot rules check`)
"""

from mailbot.rulebook.lines import key_lines
from mailbot.rulebook.load import RULE_FILES, check_rules, default_rules_dir, load_rulebook
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
