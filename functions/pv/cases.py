"""Cases: a flagged document becomes one stored case and one safety alert, whatever the retries."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger

from pv.adapters.bucket import IntakeBucket
from pv.adapters.case_store import MAX_WRITTEN_WITH_CASE, CaseStore
from pv.adapters.topic import AlertPublisher
from pv.case_models import Case, CaseFacts, SafetyAlert
from pv.models import CaseRequest, SentenceScore, SourceDocument

if TYPE_CHECKING:
    from pv.regulatory.intake import RegulatoryIntake

logger = Logger(child=True)

SERIOUS_DUE_DAYS = 15  # expedited (15-day) report for serious cases
NON_SERIOUS_DUE_DAYS = 90

AssessCase = Callable[[SourceDocument, list[SentenceScore]], CaseFacts]
Publishable = Callable[[CaseFacts, SourceDocument], CaseFacts]


def case_id_for(document_id: str) -> str:
    """A case's id, derived from its document so that a retry can never mint a second case."""
    return f"PV-{document_id[:20].upper()}"


def due_date(received_at: datetime, serious: bool) -> date:
    """Regulatory due date: calendar days from receipt (15 if serious, else 90)."""
    return received_at.date() + timedelta(days=SERIOUS_DUE_DAYS if serious else NON_SERIOUS_DUE_DAYS)


def publishable_facts(facts: CaseFacts, document: SourceDocument) -> CaseFacts:
    """What of the facts an alert may carry: no drug or event name that is personal data, the
    summary redacted again (`pv.intelligence.redaction.publishable`)."""
    from pv.intelligence.redaction import publishable  # loaded with case intelligence, not at import

    return publishable(facts, document)


def alert_for(case: Case, facts: CaseFacts | None = None) -> SafetyAlert:
    """The alert for a case: ids, seriousness, drugs, events and the redacted summary only.

    `facts`: the publishable facts (`publishable_facts`); the case's own when not given.
    """
    facts = facts if facts is not None else case.facts
    return SafetyAlert(
        case_id=case.case_id,
        document_id=case.document_id,
        channel=case.channel,
        status=case.status,
        serious=facts.serious,
        seriousness_criteria=[c.criterion for c in facts.seriousness_criteria],
        suspect_drugs=facts.suspect_drugs,
        events=facts.events,
        summary=facts.summary,
        drugs_from_feed=[
            m.normalized
            for m in facts.mentions
            if m.source == "feed" and m.role == "suspect" and m.normalized in facts.suspect_drugs
        ],
        due_date=case.due_date,
        received_at=case.received_at,
    )


@dataclass
class CaseService:
    """Opens cases from CaseQueue requests. Knows nothing of Lambda."""

    bucket: IntakeBucket
    cases: CaseStore
    publisher: AlertPublisher
    assess: AssessCase
    publishable: Publishable = publishable_facts
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    # MedDRA coding, the due-date rule, match keys and links (without it: 15/90 days, nothing coded)
    regulatory: RegulatoryIntake | None = None

    def open_case(self, request: CaseRequest) -> Case:
        """Store the case (once) and publish its alert (once), resuming wherever a retry left off.

        The alert carries only the publishable facts: defence in depth against an extractor that
        takes personal data for a drug or an event (the stored case keeps what it found).
        """
        case_id = case_id_for(request.document_id)
        # Stored first, read back only when that fails: a case is new on all but a retry's
        # delivery, so the lookup a retry needs is not paid on every case.
        document = self.bucket.get_parsed(request.document_ref)
        case, listed = self._new_case(case_id, request, document)
        public: CaseFacts | None = listed
        # The case's match keys go in its own transaction when they fit (one write, not two).
        indexed = (
            self.regulatory.index_writes(case, room=MAX_WRITTEN_WITH_CASE)
            if self.regulatory is not None
            else []
        )
        # The inbox lists the publishable names (its indexes carry no personal data).
        if not self.cases.create(case, listed=listed, with_case=indexed):
            # an earlier attempt or a concurrent delivery stored it (perhaps without its alert)
            case = self.cases.get(case_id) or case
            public = None
            indexed = []
        if self.regulatory is not None and not indexed:
            self.regulatory.index_case(case)  # idempotent: a retry indexes again
        if case.alert_state != "sent":
            public = public or self.publishable(case.facts, document)
            self.publisher.publish(alert_for(case, public))
            self.cases.mark_alert_sent(case_id)
            case = case.model_copy(update={"alert_state": "sent"})
        logger.info("case ready", case_id=case_id, document_id=request.document_id, status=case.status)
        return case

    def _new_case(
        self, case_id: str, request: CaseRequest, document: SourceDocument
    ) -> tuple[Case, CaseFacts]:
        """The case a request opens, assessed and recorded, and the publishable facts of it."""
        flagged = self.bucket.get_flagged(request.flagged_ref) if request.flagged_ref else request.flagged
        facts = self.assess(document, flagged)
        record = (
            self.regulatory.record(case_id, document, facts, request.received_at)
            if self.regulatory is not None
            else None
        )
        case = Case(
            case_id=case_id,
            document_id=request.document_id,
            channel=request.channel,
            source_key=request.source_key,
            status="incomplete" if facts.missing_elements else "new",
            received_at=request.received_at,
            due_date=record.due_rule.due_date
            if record is not None and record.due_rule is not None
            else due_date(request.received_at, facts.serious),
            created_at=self.clock(),
            flagged=request.flagged,
            flagged_count=request.flagged_count or len(request.flagged),
            flagged_ref=request.flagged_ref,
            facts=facts,
            document_ref=request.document_ref,
            regulatory=record,
        )
        return case, self.publishable(facts, document)
