"""OCR in the shell: Tesseract run as a subprocess (tesseract.py); the core only gets its `page`."""

from mailbot.ocr.tesseract import INSTALL_HINT, LANGUAGES, Tesseract, find_tesseract

__all__ = ["INSTALL_HINT", "LANGUAGES", "Tesseract", "find_tesseract"]
