"""What a reviewer does with a case's regulatory record: export its ICSR, confirm or reject a link
to a possible duplicate or follow-up, pick the MedDRA term of a flagged reaction.

Every one is a change of the review workbench (`Workbench.change`): it is made on the case
version the reviewer saw (a stale one gets `StaleVersion`, nothing written), bumps the version,
and writes the case with its audit record in one transaction; a confirmed follow-up changes the
earlier case in that same transaction. The record itself also says who did what and when.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from pv.adapters.review_store import StaleVersion
from pv.case_models import Case
from pv.regulatory.coding import search_terms
from pv.regulatory.e2b import ExportRefused, default_record, export_icsr
from pv.regulatory.meddra import MeddraRelease
from pv.regulatory.models import ExportRecord, RegulatoryRecord, TermSearch
from pv.regulatory.sender import Sender
from pv.review.models import Actor
from pv.review.service import CaseChange, CaseNotFound, Workbench

E2B_PREFIX = "e2b/"


class RegulatoryChangeRefused(ValueError):
    """The change asked for does not apply to this case (a reviewer's mistake, not a fault)."""


class E2bArchive(Protocol):
    def put(self, key: str, xml: bytes) -> None: ...


@dataclass(frozen=True)
class Export:
    xml: bytes
    key: str
    record: ExportRecord
    case: Case  # as recorded after the export


def _with_record(case: Case, record: RegulatoryRecord) -> Case:
    return case.model_copy(update={"regulatory": record})


@dataclass
class RegulatoryService:
    workbench: Workbench
    archive: E2bArchive
    sender: Sender
    release: Callable[[], MeddraRelease | None] = lambda: None

    def case(self, case_id: str) -> Case:
        case = self.workbench.store.cases.get(case_id)
        if case is None:
            raise CaseNotFound(case_id)
        return case

    def _at(self, case_id: str, expected_version: int | None) -> Case:
        """The case, at the version the reviewer saw (`StaleVersion` first, before any other
        refusal: what they saw is gone)."""
        case = self.case(case_id)
        if expected_version is not None and expected_version != case.version:
            raise StaleVersion(case.version)
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

    def export(
        self,
        case_id: str,
        actor: Actor,
        expected_version: int | None = None,
        request_id: str | None = None,
    ) -> Export:
        """The case's ICSR, written to the bucket under e2b/ and recorded (with its audit record);
        made from `expected_version` when given (`StaleVersion` when the case is at another),
        else from the version read now. Raises `ExportRefused` when the case may not be exported.

        The file is written before the change that records it: should that transaction then fail
        (a change came in between), the bucket holds a file no record names, never the reverse."""
        self.workbench.require_reviewer(actor)
        case = self._at(case_id, expected_version)
        now = self.workbench.clock()
        record = self.record_of(case)
        xml = export_icsr(_with_record(case, record), sender=self.sender, history=self.history(case), now=now)
        key = f"{E2B_PREFIX}{case_id}/v{record.report_version}-{now.strftime('%Y%m%dT%H%M%SZ')}.xml"
        exported = ExportRecord(
            key=key,
            sha256=hashlib.sha256(xml).hexdigest(),
            report_version=record.report_version,
            exported_at=now,
            exported_by=actor.username,
            case_version=case.version,
        )
        self.archive.put(key, xml)

        def recorded(before: Case) -> Case:
            current = self.record_of(before)
            return _with_record(before, current.model_copy(update={"exports": [*current.exports, exported]}))

        after = self.workbench.change(
            case_id,
            case.version,
            actor,
            action="e2b_exported",
            mutate=recorded,
            details={"key": key, "sha256": exported.sha256, "report_version": record.report_version},
            request_id=request_id,
        )
        return Export(xml=xml, key=key, record=exported, case=after)

    def decide_link(
        self,
        case_id: str,
        linked_case_id: str,
        decision: Literal["confirmed", "rejected"],
        actor: Actor,
        expected_version: int,
        reason: str,
        request_id: str | None = None,
    ) -> Case:
        """Confirm or reject a proposed link. A confirmed follow-up becomes the next version of the
        earlier case (its worldwide case id and sender's report id kept; the earlier case lists it,
        in the same transaction); a confirmed duplicate is not exported on its own."""
        self.workbench.require_reviewer(actor)
        case = self._at(case_id, expected_version)
        record = self.record_of(case)
        link = next((lk for lk in record.links if lk.case_id == linked_case_id), None)
        if link is None:
            raise RegulatoryChangeRefused(f"{case_id} has no link to {linked_case_id}")
        if link.status != "proposed":
            raise RegulatoryChangeRefused(f"the link to {linked_case_id} is already {link.status}")
        now = self.workbench.clock()
        decided = link.model_copy(
            update={
                "status": decision,
                "decided_by": actor.username,
                "decided_at": now,
                "decision_reason": reason,
            }
        )
        update: dict[str, object] = {}
        also: list[CaseChange] = []
        details: dict[str, object] = {"linked_case_id": linked_case_id, "kind": link.kind}
        if decision == "confirmed" and link.kind == "possible_follow_up":
            if record.follow_up_of is not None:
                raise RegulatoryChangeRefused(f"{case_id} is already a follow-up of {record.follow_up_of}")
            linked = self.case(linked_case_id)
            master = self.case(self.record_of(linked).follow_up_of or linked.case_id)
            master_record = self.record_of(master)
            report_version = len(master_record.follow_ups) + 2
            update = {
                "follow_up_of": master.case_id,
                "worldwide_case_id": master_record.worldwide_case_id,
                "safety_report_id": master_record.safety_report_id,
                "report_version": report_version,
            }
            details |= {
                "report_version": report_version,
                "worldwide_case_id": master_record.worldwide_case_id,
            }

            def listed(before: Case) -> Case:
                current = self.record_of(before)
                return _with_record(
                    before, current.model_copy(update={"follow_ups": [*current.follow_ups, case_id]})
                )

            also.append(
                CaseChange(
                    master.case_id,
                    master.version,
                    action="follow_up_added",
                    mutate=listed,
                    reason=reason,
                    details={"follow_up": case_id, "report_version": report_version},
                )
            )
        elif decision == "confirmed":
            update = {"duplicate_of": linked_case_id}

        def linked_up(before: Case) -> Case:
            current = self.record_of(before)
            links = [decided if lk.case_id == linked_case_id else lk for lk in current.links]
            return _with_record(before, current.model_copy(update={"links": links, **update}))

        return self.workbench.change(
            case_id,
            expected_version,
            actor,
            action=f"link_{decision}",
            mutate=linked_up,
            reason=reason,
            details=details,
            request_id=request_id,
            also=also,
        )

    def choose_term(
        self,
        case_id: str,
        event: str,
        llt_code: str,
        actor: Actor,
        expected_version: int,
        reason: str | None = None,
        request_id: str | None = None,
    ) -> Case:
        """Code a reaction to the current LLT the reviewer picked (from the configured release)."""
        self.workbench.require_reviewer(actor)
        case = self._at(case_id, expected_version)
        release = self.release()
        if release is None:
            raise RegulatoryChangeRefused("no MedDRA release is configured")
        llt = release.llts.get(llt_code)
        term = release.term(llt_code)
        if llt is None or term is None:
            raise RegulatoryChangeRefused(f"{llt_code} is no LLT of MedDRA {release.version}")
        if not llt.current:
            raise RegulatoryChangeRefused(f"{llt_code} ({llt.name}) is not a current LLT")
        if not any(c.event == event for c in self.record_of(case).coding):
            raise RegulatoryChangeRefused(f"{case_id} has no reaction {event!r}")

        def coded(before: Case) -> Case:
            current = self.record_of(before)
            coding = [
                c.model_copy(
                    update={
                        "status": "coded",
                        "method": "reviewer",
                        "term": term,
                        "coded_by": actor.username,
                        "candidates": [],
                        "note": None,
                    }
                )
                if c.event == event
                else c
                for c in current.coding
            ]
            return _with_record(
                before,
                current.model_copy(
                    update={"coding": coding, "meddra_version": release.version, "coding_note": None}
                ),
            )

        return self.workbench.change(
            case_id,
            expected_version,
            actor,
            action="term_chosen",
            mutate=coded,
            reason=reason,
            details={
                "event": event,
                "llt_code": llt_code,
                "pt_code": term.pt_code,
                "meddra_version": release.version,
            },
            request_id=request_id,
        )

    def search(self, query: str, limit: int = 20) -> TermSearch:
        """Current LLTs for the term picker (none without a release)."""
        release = self.release()
        if release is None:
            return TermSearch(version=None, terms=[])
        return TermSearch(version=release.version, terms=search_terms(release, query, limit))


__all__ = [
    "CaseNotFound",
    "Export",
    "ExportRefused",
    "RegulatoryChangeRefused",
    "RegulatoryService",
]
