"""Possible duplicates and follow-ups: which earlier cases a new case may repeat or continue.

A case is indexed under keyed hashes (HMAC) of what identifies its thread, its reporter and its
patient; the raw values (message ids, addresses, phone numbers, dates of birth) never leave this
module, never reach an index, a link or a log. A new case is linked to an earlier one when:

- it is a reply in the same email thread (its Message-ID, In-Reply-To or References share an id
  with the earlier case's): a possible follow-up;
- it comes from the same caller (a caller id, or a phone number or name the caller gives), within
  the time window: a possible follow-up;
- the patient's identifiers match where known (the same reporter about the same patient, a date of
  birth, a record number), a suspect drug matches and the events overlap (same PT when coded, else
  the same event), within the time window: a possible duplicate.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import getaddresses
from typing import Any

from pydantic import BaseModel, Field

from pv.case_models import Case, CaseFacts
from pv.models import Channel, SourceDocument
from pv.regulatory.coding import fold
from pv.regulatory.models import CaseLink, EventCoding, LinkKind, LinkReason

DEFAULT_WINDOW = timedelta(days=90)

# kind, value -> a keyed hash (hex); the same inputs always give the same key.
MatchKeyer = Callable[[str, str], str]


def hmac_keyer(secret: bytes) -> MatchKeyer:
    """Keys made with HMAC-SHA256 and a secret held in memory (tests, a local stack)."""

    def key(kind: str, value: str) -> str:
        return hmac.new(secret, f"{kind}\0{value}".encode(), hashlib.sha256).hexdigest()

    return key


def kms_keyer(kms: Any, key_id: str) -> MatchKeyer:
    """Keys made by a KMS HMAC key (GenerateMac, HMAC_SHA_256): the secret never leaves KMS."""
    cache: dict[tuple[str, str], str] = {}

    def key(kind: str, value: str) -> str:
        if (kind, value) not in cache:
            mac = kms.generate_mac(
                KeyId=key_id, Message=f"{kind}\0{value}".encode(), MacAlgorithm="HMAC_SHA_256"
            )["Mac"]
            cache[(kind, value)] = (mac if isinstance(mac, bytes) else base64.b64decode(mac)).hex()
        return cache[(kind, value)]

    return key


_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
_PHONE = re.compile(r"(?<![\w/])\+?\d[\d ()\-.]{5,}\d(?![\w/])")
_NAME_GIVEN = re.compile(r"\bmy name is ([A-Z][a-z]+(?: [A-Z][a-z'\-]+)+)")
_DOB = re.compile(
    r"\b(?:dob|d\.o\.b\.?|date of birth|born(?: on)?)\s*(?:is|:)?\s*"
    r"(\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}|\d{4}-\d{2}-\d{2}|\d{1,2} [A-Za-z]{3,9},? \d{4})",
    re.IGNORECASE,
)
_RECORD = re.compile(
    r"\b(?:mrn|nhs (?:number|no\.?)|hospital (?:number|no\.?)|record (?:number|no\.?)|patient id)\s*[:#]?\s*"
    r"([A-Z0-9][A-Z0-9\-]{3,})",
    re.IGNORECASE,
)
_CALLER_KEYS = ("caller_id", "phone", "caller", "caller_name")


@dataclass(frozen=True)
class CaseKeys:
    """The keyed hashes of one case, by what they identify."""

    thread: frozenset[str]
    reporter: frozenset[str]
    patient: frozenset[str]

    @property
    def all(self) -> list[str]:
        return sorted(self.thread | self.reporter | self.patient)

    @classmethod
    def from_stored(cls, keys: Iterable[str]) -> CaseKeys:
        keys = list(keys)
        return cls(
            *(frozenset(k for k in keys if k.startswith(p)) for p in ("thread:", "reporter:", "patient:"))
        )


def case_keys(document: SourceDocument, facts: CaseFacts, keyer: MatchKeyer) -> CaseKeys:
    """The keyed hashes a case is indexed and matched under (prefixed by what they identify)."""

    def keyed(kind: str, values: Iterable[str]) -> frozenset[str]:
        return frozenset(f"{kind}:{keyer(kind, v)}" for v in values if v)

    reporters = _reporter_ids(document)
    patient = facts.patient or "reporter"
    text = "\n".join(u.text for u in document.units if u.is_screened)
    patient_ids = [f"{r}|{patient}" for r in reporters]
    patient_ids += [f"dob|{_digits(m)}" for m in _DOB.findall(text)]
    patient_ids += [f"record|{m.upper()}" for m in _RECORD.findall(text)]
    return CaseKeys(
        thread=keyed("thread", _thread_ids(document)),
        reporter=keyed("reporter", reporters if document.channel == Channel.CALL else []),
        patient=keyed("patient", patient_ids),
    )


def _thread_ids(document: SourceDocument) -> list[str]:
    meta = document.metadata
    found = [
        m.lower()
        for key in ("message_id", "in_reply_to", "references")
        for m in _MESSAGE_ID.findall(meta.get(key, ""))
    ]
    return list(dict.fromkeys(found))


def _reporter_ids(document: SourceDocument) -> list[str]:
    meta = document.metadata
    if document.channel == Channel.EMAIL:
        return [a.lower() for _, a in getaddresses([meta.get("from", "")]) if "@" in a]
    if document.channel == Channel.SOCIAL:
        author = meta.get("author", "").strip().lower()
        return [f"{meta.get('platform', '').lower()}/{author}"] if author else []
    ids = [fold(meta[k]) for k in _CALLER_KEYS if meta.get(k)]
    caller_text = "\n".join(u.text for u in document.units if u.kind == "turn" and u.speaker == "caller")
    ids += [digits for m in _PHONE.findall(caller_text) if len(digits := _digits(m)) >= 7]
    ids += [fold(m) for m in _NAME_GIVEN.findall(caller_text)]
    return list(dict.fromkeys(ids))


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text) or fold(text)


class _LinkedFacts(BaseModel):
    suspect_drugs: list[str] = Field(default_factory=list)
    events: list[str] = Field(default_factory=list)


class _LinkedRecord(BaseModel):
    coding: list[EventCoding] = Field(default_factory=list)
    match_keys: list[str] = Field(default_factory=list)


class LinkedCase(BaseModel):
    """What linking reads of an earlier stored case: `LINKED_CASE_ATTRIBUTES` alone, not the
    whole case (its text, mentions and flagged sentences stay in the table)."""

    case_id: str
    received_at: datetime
    facts: _LinkedFacts = Field(default_factory=_LinkedFacts)
    regulatory: _LinkedRecord | None = None


# The attribute paths of a stored case that `LinkedCase` holds (a projected read of the Cases table).
LINKED_CASE_ATTRIBUTES = (
    "case_id",
    "received_at",
    "facts.suspect_drugs",
    "facts.events",
    "regulatory.coding",
    "regulatory.match_keys",
)


@dataclass(frozen=True)
class Candidate:
    """An earlier case found under one of the new case's keys, as linking compares it."""

    case_id: str
    received_at: datetime
    suspect_drugs: frozenset[str]
    event_keys: frozenset[str]
    keys: CaseKeys

    @classmethod
    def of(cls, case: Case | LinkedCase) -> Candidate:
        """The candidate a stored case (whole, or the linked attributes of it) makes."""
        record = case.regulatory
        return cls(
            case_id=case.case_id,
            received_at=case.received_at,
            suspect_drugs=frozenset(case.facts.suspect_drugs),
            event_keys=frozenset(_event_keys(case.facts, record.coding if record is not None else [])),
            keys=CaseKeys.from_stored(record.match_keys if record is not None else []),
        )


def links_for(
    keys: CaseKeys,
    facts: CaseFacts,
    coding: list[EventCoding],
    received_at: datetime,
    candidates: Iterable[Candidate],
    window: timedelta = DEFAULT_WINDOW,
) -> list[CaseLink]:
    """The links a new case gets to earlier cases (none to itself), most reasons first."""
    links = []
    event_keys = _event_keys(facts, coding)
    for candidate in candidates:
        reasons: list[LinkReason] = []
        if keys.thread & candidate.keys.thread:
            reasons.append("same_thread")
        within = abs(received_at - candidate.received_at) <= window
        if within and keys.reporter & candidate.keys.reporter:
            reasons.append("same_reporter")
        if (
            within
            and keys.patient & candidate.keys.patient
            and set(facts.suspect_drugs) & candidate.suspect_drugs
            and event_keys & candidate.event_keys
        ):
            reasons.append("same_patient_drug_events")
        if reasons:
            kind: LinkKind = (
                "possible_duplicate" if reasons == ["same_patient_drug_events"] else "possible_follow_up"
            )
            links.append(CaseLink(case_id=candidate.case_id, kind=kind, reasons=reasons))
    return sorted(links, key=lambda link: (-len(link.reasons), link.case_id))


def _event_keys(facts: CaseFacts | _LinkedFacts, coding: list[EventCoding]) -> set[str]:
    """The events of a case as PT codes where coded, and as folded names in any case."""
    keys = {fold(e) for e in facts.events}
    keys |= {f"pt:{c.term.pt_code}" for c in coding if c.term is not None}
    return keys
