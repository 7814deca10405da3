"""Raw bytes -> ParsedMessage: the MIME walk (tree), decoding (text), address headers (headers)."""

from mailbot.parse.message import Attachment, ParsedMessage, parse_message, sha256

__all__ = ["Attachment", "ParsedMessage", "parse_message", "sha256"]
