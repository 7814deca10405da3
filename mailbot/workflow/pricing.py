"""What the requestor owes, from rules/pricing.toml. Pure; amounts as Decimal, shown 2 dp."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from mailbot.rulebook.models import Rulebook


@dataclass(frozen=True)
class PriceLine:
    item: str          # "base" | "update" | "courier" | an extras id
    amount: Decimal


@dataclass(frozen=True)
class Quote:
    currency: str
    lines: tuple[PriceLine, ...]

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0.00"))


def quote(rulebook: Rulebook, *, is_update_same_specialist: bool, courier: bool, additional: bool = False,
          condition_id: str | None = None) -> Quote:
    """Base price, or the update price when the same specialist reviews new documents within
    the update window (both per condition where the rules, or the case's hospital, set one),
    or the additional-opinion price for questions after a report; plus courier delivery of the
    report when asked for."""
    p = rulebook.pricing
    if additional:
        lines = [PriceLine("additional_opinion", additional_price(rulebook))]
    else:
        base, update = p.for_condition(condition_id)
        lines = [PriceLine("update", update) if is_update_same_specialist else PriceLine("base", base)]
    if courier:
        lines.append(PriceLine("courier", p.courier))
    return Quote(p.currency, tuple(lines))


def additional_price(rulebook: Rulebook) -> Decimal:
    p = rulebook.pricing
    return p.additional_opinion if p.additional_opinion is not None else p.base


def money(amount: Decimal | str) -> str:
    return f"{Decimal(amount):.2f}"
