"""The bank details patients are shown, checked once for the config and for every hospital: a typo
here sends a patient's money astray (schwifty checks the IBAN's check digits, length and country,
and the BIC's form)."""

from __future__ import annotations

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException


def checked_iban(value: str) -> str:
    try:
        return IBAN(value).compact
    except SchwiftyException as exc:
        raise ValueError(f"{value!r} is not a valid IBAN ({exc}); copy it again from the bank's papers") from None


def checked_bic(value: str) -> str:
    try:
        return str(BIC(value))
    except SchwiftyException as exc:
        raise ValueError(f"{value!r} is not a valid BIC ({exc}); 8 or 11 letters and digits") from None
