"""The four elements of a valid case (ICH E2D): reporter, patient, suspect drug, adverse event."""

from __future__ import annotations

import re

from pv.models import Channel, SourceDocument, ValidCaseElement

from .text import fold

_REPORTER_KEYS = {
    Channel.EMAIL: ("from", "sender", "reply_to"),
    Channel.SOCIAL: ("author", "user", "username", "handle", "author_id"),
    Channel.CALL: ("caller", "caller_id", "phone", "caller_name"),
}
_SELF_IDENTIFIED = re.compile(
    r"\b(?:my name is|my name's|this is [A-Z][a-z]+|regards|sincerely|thanks),?\s+[A-Z][a-z]+"
)
_AGE = re.compile(r"\b\d{1,3}[- ]?(?:years?|yrs?|y/?o)(?:[- ]old)?\b|\baged?\s+\d{1,3}\b|\bi'?m\s+\d{1,3}\b")
_SEX = re.compile(r"\b(?:man|woman|male|female|boy|girl|gentleman|lady|mr|mrs|ms|miss)\b")
_INITIALS = re.compile(r"\b(?:[A-Z]\.\s?){2,3}(?=\W|$)|\b(?:patient|pt|initials)\s*:?\s*[A-Z]{2,3}\b")


def reporter_identifiable(document: SourceDocument) -> bool:
    """A sender, author or caller we could contact: channel metadata, a caller's turns, or a name given."""
    if any(document.metadata.get(key) for key in _REPORTER_KEYS.get(document.channel, ())):
        return True
    if document.channel == Channel.CALL and any(u.speaker == "caller" for u in document.units):
        return True  # the call centre took the call: the caller is a contactable person
    return bool(_SELF_IDENTIFIED.search("\n".join(u.text for u in document.units)))


def patient_identifiable(text: str, patient: str | None) -> bool:
    """Whether the patient is identifiable: someone the text points to, an age, a sex or initials."""
    folded = fold(text)
    return patient is not None or bool(_AGE.search(folded) or _SEX.search(folded) or _INITIALS.search(text))


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
