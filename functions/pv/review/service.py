"""The case workbench: the inbox, the case view, decisions and the audit trail. Knows nothing of
Lambda or HTTP.

Every change to a case goes through `Workbench.change`: it reads the case, checks the version the
caller saw, applies the change, and writes the case, its index items and its audit record in one
DynamoDB transaction. Decisions and review starts are changes; so are the regulatory ones
(pv.regulatory.service: an export recorded, a link confirmed or rejected, a MedDRA term chosen),
where a confirmed follow-up changes its earlier case in the same transaction (`also`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from pv.adapters.bucket import IntakeBucket, parsed_key
from pv.adapters.case_store import listing_attributes
from pv.adapters.review_store import CaseWrite, ReviewStore, StaleVersion
from pv.case_models import Case
from pv.intelligence.redaction import RuleRedactor, name_variants
from pv.models import SourceDocument
from pv.regulatory.due_dates import redated

from . import lifecycle
from .models import (
    Actor,
    AuditRecord,
    AuditTrail,
    CasePage,
    CaseView,
    DecisionRequest,
    InboxQuery,
    Role,
)
from .view import case_view, redact_values

logger = Logger(child=True)

Mutation = Callable[[Case], Case]


@dataclass(frozen=True)
class CaseChange:
    """One case's part of a change: the version the caller saw, what the change does to the case
    and what its audit record says."""

    case_id: str
    expected_version: int
    action: str
    mutate: Mutation
    reason: str | None = None
    decision: Any = None
    details: dict[str, Any] = field(default_factory=dict)


class CaseNotFound(Exception):
    pass


class NotAllowed(Exception):
    """The actor's role may not do this."""


@dataclass
class Workbench:
    store: ReviewStore
    bucket: IntakeBucket
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    # What every change keeps in step with the case (pv.regulatory: the due date by the case's
    # rule set; runtime adds the MedDRA coding of corrected events).
    upkeep: Mutation = redated

    def today(self) -> date:
        return self.clock().date()

    # reads -----------------------------------------------------------------------------------

    def inbox(self, query: InboxQuery) -> CasePage:
        return self.store.page(query, self.today())

    def case(self, case_id: str, actor: Actor) -> CaseView:
        case = self._case(case_id)
        return case_view(case, self.document(case), actor.role, self.today())

    def audit(self, case_id: str, actor: Actor) -> AuditTrail:
        case = self._case(case_id)
        records = self.store.audit_trail(case_id)
        if actor.role is Role.VIEWER:
            records = [self._redacted(record, self.document(case)) for record in records]
        return AuditTrail(case_id=case_id, records=records)

    # changes ---------------------------------------------------------------------------------

    def start_review(
        self, case_id: str, expected_version: int, actor: Actor, request_id: str | None = None
    ) -> CaseView:
        self.require_reviewer(actor)
        case = self.change(
            case_id,
            expected_version,
            actor,
            action="review_started",
            mutate=lambda c: lifecycle.start_review(c, actor.username),
            request_id=request_id,
        )
        return case_view(case, self.document(case), actor.role, self.today())

    def decide(
        self, case_id: str, request: DecisionRequest, actor: Actor, request_id: str | None = None
    ) -> CaseView:
        self.require_reviewer(actor)
        case = self.change(
            case_id,
            request.expected_version,
            actor,
            action="decision",
            mutate=lambda c: lifecycle.decide(c, request.decision, request.corrections),
            reason=request.reason,
            decision=request.decision,
            details={"corrected": sorted(request.corrections.model_dump(exclude_none=True))}
            if request.corrections
            else {},
            request_id=request_id,
        )
        return case_view(case, self.document(case), actor.role, self.today())

    def change(
        self,
        case_id: str,
        expected_version: int,
        actor: Actor,
        *,
        action: str,
        mutate: Mutation,
        reason: str | None = None,
        decision: Any = None,
        details: dict[str, Any] | None = None,
        request_id: str | None = None,
        also: Sequence[CaseChange] = (),
    ) -> Case:
        """Apply `mutate` to the case at `expected_version` and append its audit record, in one
        transaction; `also`: other cases changed in the same transaction (the earlier case of a
        confirmed follow-up), each under its own version and with its own audit record. Raises
        `StaleVersion` (nothing written) when a case is at another version,
        `lifecycle.InvalidTransition` when the change does not apply to its status."""
        first = CaseChange(case_id, expected_version, action, mutate, reason, decision, details or {})
        return self.change_all([first, *also], actor, request_id)[0]

    def change_all(
        self, changes: Sequence[CaseChange], actor: Actor, request_id: str | None = None
    ) -> list[Case]:
        """`change` for several cases at once: all written, or none."""
        if len({c.case_id for c in changes}) != len(changes):
            raise ValueError("a case changes at most once in a transaction")
        befores = [self._case(c.case_id) for c in changes]
        for change, before in zip(changes, befores, strict=True):
            if before.version != change.expected_version:
                raise StaleVersion(before.version, case_id=None if change is changes[0] else before.case_id)
        now = self.clock()
        writes = []
        for change, before in zip(changes, befores, strict=True):
            # The due date follows the seriousness by the case's own rule set, and the MedDRA
            # coding follows its events (pv.regulatory).
            after = self.upkeep(change.mutate(before)).model_copy(
                update={"version": before.version + 1, "updated_at": now}
            )
            record = AuditRecord(
                case_id=before.case_id,
                seq=after.version,
                at=now,
                actor=actor,
                action=change.action,
                decision=change.decision,
                reason=change.reason,
                from_status=before.status,
                to_status=after.status,
                changes=lifecycle.changes(before, after),
                details=change.details,
                request_id=request_id,
            )
            listed = after.facts
            document = self.document(after)
            if document is not None:
                from pv.cases import publishable_facts

                listed = publishable_facts(after.facts, document)
            writes.append(CaseWrite(before, after, record, listing_attributes(after, listed)))
        self.store.apply_all(writes)
        for write in writes:
            logger.info(
                "case changed",
                case_id=write.after.case_id,
                action=write.record.action,
                version=write.after.version,
                status=write.after.status,
                actor_sub=actor.sub,
            )
        return [w.after for w in writes]

    # helpers ---------------------------------------------------------------------------------

    def document(self, case: Case) -> SourceDocument | None:
        """The parsed source document, or None when it is no longer in the bucket."""
        try:
            return self.bucket.get_parsed(case.document_ref or parsed_key(case.document_id))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                logger.warning("parsed document missing", case_id=case.case_id)
                return None
            raise

    def _case(self, case_id: str) -> Case:
        case = self.store.cases.get(case_id)
        if case is None:
            raise CaseNotFound(case_id)
        return case

    @staticmethod
    def require_reviewer(actor: Actor) -> None:
        if actor.role is not Role.REVIEWER:
            raise NotAllowed("only reviewers change cases")

    @staticmethod
    def _redacted(record: AuditRecord, document: SourceDocument | None) -> AuditRecord:
        known_names = name_variants(document.metadata) if document is not None else []
        redactor = RuleRedactor()

        def redact(text: str) -> str:
            return redactor.redact(text, known_names=known_names)

        return record.model_copy(
            update={
                "reason": redact(record.reason) if record.reason else record.reason,
                "changes": [
                    c.model_copy(
                        update={
                            "before": redact_values(c.before, redact),
                            "after": redact_values(c.after, redact),
                        }
                    )
                    for c in record.changes
                ],
                "details": redact_values(record.details, redact),
            }
        )
