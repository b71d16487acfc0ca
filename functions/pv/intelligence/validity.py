"""The four elements of a valid case (ICH E2D): reporter, patient, suspect drug, adverse event."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pv.case_models import ValidCaseElement

from .patients import patient_identifiable, reporter_identifiable

if TYPE_CHECKING:
    from .reading import DocumentReading


def missing_elements(
    reading: DocumentReading, *, suspect_drugs: list[str], events: list[str]
) -> list[ValidCaseElement]:
    """The valid-case elements the document lacks (a follow-up asks for them), in ICH order."""
    missing: list[ValidCaseElement] = []
    if not reporter_identifiable(reading.document):
        missing.append("reporter")
    if not patient_identifiable(reading.document.text, reading.patient, folded=reading.folded_text):
        missing.append("patient")
    if not suspect_drugs:
        missing.append("suspect_drug")
    if not events:
        missing.append("adverse_event")
    return missing
