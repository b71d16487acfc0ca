"""The regulatory record of a new case: MedDRA coding, the due-date rule, match keys and links.

CaseFunction calls `RegulatoryIntake.record` when it opens a case, and writes `index_writes` with
the case (or calls `index_case` once it is stored), so that later cases can find it. The review
workbench calls `upkeep` on every change.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from pv.case_models import Case, CaseFacts
from pv.intelligence.patients import Profession, read_persons
from pv.models import SourceDocument
from pv.regulatory.coding import NO_DICTIONARY_NOTE, MeddraCoder, uncoded_without_dictionary
from pv.regulatory.due_dates import NO_LABELS, DueDateRules, ProductLabels, redated
from pv.regulatory.linking import (
    DEFAULT_WINDOW,
    Candidate,
    CaseKeys,
    LinkedCase,
    MatchKeyer,
    case_keys,
    links_for,
)
from pv.regulatory.models import EventCoding, PatientDetails, Qualification, RegulatoryRecord
from pv.regulatory.sender import Sender, safety_report_id


class MatchKeyIndex(Protocol):
    """Where cases are found by their keyed hashes (pv.adapters.regulatory.MatchKeyTable)."""

    def case_ids(self, keys: Sequence[str]) -> set[str]: ...

    def add(self, case_id: str, keys: Sequence[str]) -> None: ...

    def writes(self, case_id: str, keys: Sequence[str]) -> list[dict[str, Any]]:
        """What `add` writes, as transaction actions to write with the case ([]: only `add`)."""
        ...


# C.2.r.4 for the profession case intelligence reads (None: a lay reporter).
_QUALIFICATIONS: dict[Profession | None, Qualification] = {
    "physician": "physician",
    "pharmacist": "pharmacist",
    "other": "other_health_professional",
    None: "consumer",
}
_INTERACTION = re.compile(r"\binteract(?:s|ed|ion|ions|ing)?\b", re.IGNORECASE)


def reactions_to_code(facts: CaseFacts) -> list[tuple[str, list[str]]]:
    """Each event of the facts with the words the reporter used for it (occurred, not negated)."""
    return [
        (
            event,
            [m.text for m in facts.mentions if m.kind == "event" and m.normalized == event and not m.negated],
        )
        for event in facts.events
    ]


@dataclass
class RegulatoryIntake:
    """Builds and indexes regulatory records. `coder` is None without a MedDRA release."""

    sender: Sender
    rules: DueDateRules
    # The stored cases among these ids, as linking reads them (CaseStore.linked_cases: one read).
    read_linked: Callable[[list[str]], Sequence[Case | LinkedCase]] = lambda _: []
    keyer: MatchKeyer | None = None  # with `index`: linking; without, no keys and no links
    index: MatchKeyIndex | None = None
    coder: MeddraCoder | None = None
    labels: ProductLabels = NO_LABELS
    window: timedelta = DEFAULT_WINDOW

    def code(self, facts: CaseFacts) -> tuple[list[EventCoding], str | None, str | None]:
        """The coded reactions, the MedDRA version, and a note when there is no dictionary."""
        return self.code_reactions(reactions_to_code(facts))

    def code_reactions(
        self, events: Sequence[tuple[str, Sequence[str]]]
    ) -> tuple[list[EventCoding], str | None, str | None]:
        """`code` for (event, the reporter's words) pairs."""
        if self.coder is None:
            return uncoded_without_dictionary(events), None, NO_DICTIONARY_NOTE
        return self.coder.code_many(events), self.coder.version, None

    def record(
        self, case_id: str, document: SourceDocument, facts: CaseFacts, received_at: datetime
    ) -> RegulatoryRecord:
        """The new case's record: coded reactions, due rule, keys and links to earlier cases."""
        coding, version, note = self.code(facts)
        unexpected = self.labels.is_unexpected(facts.suspect_drugs, coding)
        keys, candidates = CaseKeys(frozenset(), frozenset(), frozenset()), []
        if self.keyer is not None and self.index is not None:
            keys = case_keys(document, facts, self.keyer)
            earlier = sorted(self.index.case_ids(keys.all) - {case_id})
            candidates = [Candidate.of(case) for case in self.read_linked(earlier)] if earlier else []
        report_id = safety_report_id(case_id, self.sender)
        patient, qualification = patient_and_reporter(document, facts)
        return RegulatoryRecord(
            worldwide_case_id=report_id,
            safety_report_id=report_id,
            meddra_version=version,
            coding=coding,
            coding_note=note,
            due_rule=self.rules.apply(received_at, serious=facts.serious, unexpected=unexpected),
            match_keys=keys.all,
            links=links_for(keys, facts, coding, received_at, candidates, self.window),
            patient=patient,
            reporter_qualification=qualification,
            interacting_drugs=list(facts.suspect_drugs)
            if len(facts.suspect_drugs) > 1 and _INTERACTION.search(document.text)
            else [],
        )

    def upkeep(self, case: Case) -> Case:
        """The case after a reviewer's change, its record kept in step: reactions the reviewer
        added are coded (the others keep their coding, a reviewer's pick included), reactions
        removed are dropped, expectedness follows them when labels are given, and the due date
        follows the seriousness by the case's rule set."""
        record = case.regulatory
        if record is None:
            return redated(case)
        kept = {c.event: c for c in record.coding}
        events = reactions_to_code(case.facts)
        missing = [(event, verbatims) for event, verbatims in events if event not in kept]
        if missing or len(kept) != len(events):
            coded, version, note = self.code_reactions(missing)
            fresh = {c.event: c for c in coded}
            record = record.model_copy(
                update={
                    "coding": [kept.get(event) or fresh[event] for event, _ in events],
                    "meddra_version": version or record.meddra_version,
                    "coding_note": note if note and not record.meddra_version else record.coding_note,
                }
            )
        unexpected = (
            self.labels.is_unexpected(case.facts.suspect_drugs, record.coding)
            if self.labels is not NO_LABELS
            else None
        )
        return redated(case.model_copy(update={"regulatory": record}), unexpected=unexpected)

    def index_writes(self, case: Case, room: int) -> list[dict[str, Any]]:
        """What makes a new case findable by later ones, as actions for the case's own
        transaction (then the index is never behind a stored case); [] when there is nothing to
        write, the index has no such actions, or they are more than `room` (then `index_case`)."""
        keys = list(dict.fromkeys(case.regulatory.match_keys)) if case.regulatory is not None else []
        if self.index is None or not keys or len(keys) > room:
            return []
        return self.index.writes(case.case_id, keys)

    def index_case(self, case: Case) -> None:
        """Make a stored case findable by later ones (idempotent)."""
        if self.index is not None and case.regulatory is not None and case.regulatory.match_keys:
            self.index.add(case.case_id, case.regulatory.match_keys)


def patient_and_reporter(document: SourceDocument, facts: CaseFacts) -> tuple[PatientDetails, Qualification]:
    """D.1, D.5, D.2.2 and C.2.r.4 as case intelligence reads the document, in its language: whether
    the patient is identifiable, their sex (a relative's from the relation) and age as the text
    gives them, and what the reporter says they are (consumer unless they name a profession, call
    the patient theirs or sign as a physician)."""
    persons = read_persons(document, facts.patient, facts.language)
    patient = PatientDetails(
        identifiable="patient" not in facts.missing_elements, sex=persons.sex, age_years=persons.age_years
    )
    return patient, _QUALIFICATIONS[persons.profession]
