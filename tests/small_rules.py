"""A small Rulebook built in code, so pure-core tests do not depend on the shipped rule files."""

from __future__ import annotations

from mailbot.rulebook.models import Rulebook


def small_rulebook(**overrides) -> Rulebook:
    t = lambda en, it: {"en": en, "it": it}
    data = {
        "documents": {
            "oncologist_report": {"title": t("Oncologist's report", "Relazione dell'oncologo"),
                                  "filename_keywords": ["oncologist", "oncology", "oncologo"],
                                  "content_keywords": ["oncology consultation"]},
            "histology_report": {"title": t("Histology report", "Referto istologico"),
                                 "filename_keywords": ["histology", "istologico"],
                                 "content_keywords": ["ki-67", "her2", "carcinoma"]},
            "mammography_report": {"title": t("Mammography report", "Referto mammografico"),
                                   "filename_keywords": ["mammography", "mammografia"],
                                   "content_keywords": ["bi-rads"]},
            "breast_ultrasound_report": {"title": t("Breast ultrasound report", "Ecografia mammaria"),
                                         "filename_keywords": ["breast ultrasound"], "content_keywords": []},
            "chest_ct_report": {"title": t("Chest CT report", "Referto TAC torace"),
                                "filename_keywords": ["chest ct", "tac torace"], "content_keywords": []},
        },
        "conditions": {
            "breast_cancer": {"title": t("Breast cancer", "Tumore della mammella"),
                              "aliases": ["breast cancer", "tumore al seno", "carcinoma mammario"],
                              "required": ["oncologist_report", "histology_report"],
                              "any_of": [["mammography_report", "breast_ultrasound_report"]],
                              "specialties": ["breast_oncology"]},
            "lung_cancer": {"title": t("Lung cancer", "Tumore del polmone"),
                            "aliases": ["lung cancer", "tumore del polmone", "tumore polmonare"],
                            "required": ["oncologist_report", "chest_ct_report"], "specialties": ["thoracic"]},
        },
        "administrative": {
            "request_form": {"title": t("Request form", "Modulo di richiesta"), "required_when": "always",
                             "filename_keywords": ["request form"]},
            "consent_form": {"title": t("Consent form", "Modulo di consenso"),
                             "required_when": "requestor_not_patient", "filename_keywords": ["consent"]},
        },
        "naming": {"allowed_extensions": ["pdf"], "generic_names": ["scan", "img", "document", r"^\d+$"],
                   "max_length": 80},
        "pricing": {"currency": "EUR", "base": "500.00", "update": "350.00", "courier": "18.00"},
        "staff": {"triage": [{"name": "Dr Triage", "email": "triage@hospital.example.org"}],
                  "specialists": [{"name": "Dr Spec", "email": "spec@hospital.example.org",
                                   "specialties": ["breast_oncology"]}],
                  "admins": [{"name": "Admin", "email": "admin@hospital.example.org"}]},
    }
    data.update(overrides)
    return Rulebook.model_validate(data)
