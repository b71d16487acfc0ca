"""What a reviewer does with a case's regulatory record: export its ICSR, confirm or reject a link
to a possible duplicate or follow-up, pick the MedDRA term of a flagged reaction.

Each change is saved with the `RegulatoryStore`, in one write (a transaction when two cases
change); its `audit` hook, when the review workbench gives one, writes the audit record in that
same transaction. The record itself also says who did what and when.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol

from pv.models import Case
from pv.regulatory.e2b import ExportRefused, default_record, export_icsr
from pv.regulatory.meddra import MeddraRelease
from pv.regulatory.models import ExportRecord, RegulatoryRecord
from pv.regulatory.sender import Sender

E2B_PREFIX = "e2b/"


class CaseNotFound(LookupError):
    """No case with this id."""


class RegulatoryChangeRefused(ValueError):
    """The change asked for does not apply to this case (a reviewer's mistake, not a fault)."""


class CaseReader(Protocol):
    def get(self, case_id: str) -> Case | None: ...


class RegulatoryStore(Protocol):
    """Saves the regulatory records of one or more cases in one write, with an audit record each."""

    def save(self, changes: Sequence[tuple[Case, RegulatoryRecord, str]], actor: str) -> None:
        """`changes`: (case as read, its new record, what changed in words)."""
        ...


class E2bArchive(Protocol):
    def put(self, key: str, xml: bytes) -> None: ...


@dataclass(frozen=True)
class Export:
    xml: bytes
    key: str
    record: ExportRecord


@dataclass
class RegulatoryService:
    cases: CaseReader
    store: RegulatoryStore
    archive: E2bArchive
    sender: Sender
    release: Callable[[], MeddraRelease | None] = lambda: None
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def case(self, case_id: str) -> Case:
        case = self.cases.get(case_id)
        if case is None:
            raise CaseNotFound(case_id)
        return case

    def record_of(self, case: Case) -> RegulatoryRecord:
        return case.regulatory or default_record(case, self.sender)

    def history(self, case: Case) -> list[Case]:
        """The earlier versions of a confirmed follow-up, oldest first ([] for an initial report)."""
        record = self.record_of(case)
        if record.follow_up_of is None:
            return []
        master = self.case(record.follow_up_of)
        chain = [master.case_id, *self.record_of(master).follow_ups]
        earlier = chain[: chain.index(case.case_id)] if case.case_id in chain else chain
        return [master, *(self.case(i) for i in earlier[1:])]

    def export(self, case_id: str, actor: str) -> Export:
        """The case's ICSR, written to the bucket under e2b/ and recorded; ExportRefused when the
        case may not be exported."""
        case = self.case(case_id)
        now = self.clock()
        record = self.record_of(case)
        xml = export_icsr(
            case.model_copy(update={"regulatory": record}),
            sender=self.sender,
            history=self.history(case),
            now=now,
        )
        key = f"{E2B_PREFIX}{case_id}/v{record.report_version}-{now.strftime('%Y%m%dT%H%M%SZ')}.xml"
        self.archive.put(key, xml)
        exported = ExportRecord(
            key=key,
            sha256=hashlib.sha256(xml).hexdigest(),
            report_version=record.report_version,
            exported_at=now,
            exported_by=actor,
        )
        updated = record.model_copy(update={"exports": [*record.exports, exported]})
        self.store.save(
            [(case, updated, f"exported E2B(R3) ICSR version {record.report_version} to {key}")], actor
        )
        return Export(xml=xml, key=key, record=exported)

    def decide_link(
        self,
        case_id: str,
        linked_case_id: str,
        decision: Literal["confirmed", "rejected"],
        actor: str,
        reason: str = "",
    ) -> Case:
        """Confirm or reject a proposed link. A confirmed follow-up becomes the next version of the
        earlier case (its worldwide case id and sender's report id kept); a confirmed duplicate is
        not exported on its own."""
        case = self.case(case_id)
        record = self.record_of(case)
        link = next((lk for lk in record.links if lk.case_id == linked_case_id), None)
        if link is None:
            raise RegulatoryChangeRefused(f"{case_id} has no link to {linked_case_id}")
        if link.status != "proposed":
            raise RegulatoryChangeRefused(f"the link to {linked_case_id} is already {link.status}")
        now = self.clock()
        decided = link.model_copy(
            update={
                "status": decision,
                "decided_by": actor,
                "decided_at": now,
                "decision_reason": reason or None,
            }
        )
        links = [decided if lk.case_id == linked_case_id else lk for lk in record.links]
        updated = record.model_copy(update={"links": links})
        changes: list[tuple[Case, RegulatoryRecord, str]] = []
        summary = f"{decision} link to {linked_case_id} as {link.kind.replace('_', ' ')}"
        if decision == "confirmed" and link.kind == "possible_follow_up":
            if record.follow_up_of is not None:
                raise RegulatoryChangeRefused(f"{case_id} is already a follow-up of {record.follow_up_of}")
            linked = self.case(linked_case_id)
            master = self.case(self.record_of(linked).follow_up_of or linked.case_id)
            master_record = self.record_of(master)
            updated = updated.model_copy(
                update={
                    "follow_up_of": master.case_id,
                    "worldwide_case_id": master_record.worldwide_case_id,
                    "safety_report_id": master_record.safety_report_id,
                    "report_version": len(master_record.follow_ups) + 2,
                }
            )
            master_updated = master_record.model_copy(
                update={"follow_ups": [*master_record.follow_ups, case_id]}
            )
            summary += f": version {updated.report_version} of {master_record.worldwide_case_id}"
            changes.append(
                (master, master_updated, f"follow-up {case_id} added as version {updated.report_version}")
            )
        elif decision == "confirmed":
            updated = updated.model_copy(update={"duplicate_of": linked_case_id})
        self.store.save([(case, updated, summary), *changes], actor)
        return case.model_copy(update={"regulatory": updated})

    def choose_term(self, case_id: str, event: str, llt_code: str, actor: str) -> Case:
        """Code a reaction to the current LLT the reviewer picked (from the configured release)."""
        release = self.release()
        if release is None:
            raise RegulatoryChangeRefused("no MedDRA release is configured")
        llt = release.llts.get(llt_code)
        term = release.term(llt_code)
        if llt is None or term is None:
            raise RegulatoryChangeRefused(f"{llt_code} is no LLT of MedDRA {release.version}")
        if not llt.current:
            raise RegulatoryChangeRefused(f"{llt_code} ({llt.name}) is not a current LLT")
        case = self.case(case_id)
        record = self.record_of(case)
        if not any(c.event == event for c in record.coding):
            raise RegulatoryChangeRefused(f"{case_id} has no reaction {event!r}")
        coding = [
            c.model_copy(
                update={
                    "status": "coded",
                    "method": "reviewer",
                    "term": term,
                    "coded_by": actor,
                    "candidates": [],
                }
            )
            if c.event == event
            else c
            for c in record.coding
        ]
        updated = record.model_copy(
            update={"coding": coding, "meddra_version": release.version, "coding_note": None}
        )
        self.store.save([(case, updated, f"coded {event!r} to LLT {llt_code} ({term.llt_name})")], actor)
        return case.model_copy(update={"regulatory": updated})


__all__ = ["CaseNotFound", "Export", "ExportRefused", "RegulatoryChangeRefused", "RegulatoryService"]
