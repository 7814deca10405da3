"""Blank fillable forms are deterministic, so build each (form, language) once per process."""

from __future__ import annotations

from functools import lru_cache

from mailbot.documents.blank_forms import consent_form_pdf, request_form_pdf


@lru_cache(maxsize=8)
def blank_form(form: str, language: str) -> bytes:
    if form == "consent_form":
        return consent_form_pdf(language)
    return request_form_pdf(language)
