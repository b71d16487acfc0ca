"""The four elements of a valid case (ICH E2D): reporter, patient, suspect drug, adverse event."""

from __future__ import annotations

from pv.models import SourceDocument, ValidCaseElement

from .patients import patient_identifiable, reporter_identifiable


def missing_elements(
    document: SourceDocument, *, patient: str | None, suspect_drugs: list[str], events: list[str]
) -> list[ValidCaseElement]:
    """The valid-case elements the document lacks (a follow-up asks for them), in ICH order."""
    missing: list[ValidCaseElement] = []
    if not reporter_identifiable(document):
        missing.append("reporter")
    if not patient_identifiable(document.text, patient):
        missing.append("patient")
    if not suspect_drugs:
        missing.append("suspect_drug")
    if not events:
        missing.append("adverse_event")
    return missing
