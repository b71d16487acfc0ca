"""Cases for the regulatory tests: real case intelligence on a short text, and an intake that codes
against an invented release and keeps its index in memory."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from case_inputs import document
from pv.case_models import Case
from pv.models import Channel, SourceDocument
from pv.regulatory.coding import MeddraCoder
from pv.regulatory.due_dates import NO_LABELS, ProductLabels, rule_set
from pv.regulatory.intake import RegulatoryIntake
from pv.regulatory.linking import hmac_keyer
from pv.regulatory.meddra import release_from_folder
from pv.regulatory.sender import Sender

SENDER = Sender(organization="Invented Pharma Ltd", identifier="INVPHARMA", country="GB", receiver="EVHUMAN")


class MemoryIndex:
    """The match-key index in memory (the DynamoDB one is tested on moto)."""

    def __init__(self) -> None:
        self.keys: dict[str, set[str]] = {}

    def case_ids(self, keys: Sequence[str]) -> set[str]:
        return {case_id for k in keys for case_id in self.keys.get(k, set())}

    def add(self, case_id: str, keys: Sequence[str]) -> None:
        for k in keys:
            self.keys.setdefault(k, set()).add(case_id)

    def writes(self, case_id: str, keys: Sequence[str]) -> list[dict[str, Any]]:
        return []  # not a table: `add` is its only write


class CaseDesk:
    """Opens cases as CaseFunction does (assess, regulatory record, store, index), in memory."""

    def __init__(
        self, release: Path | None, *, rules: str = "EU", labels: ProductLabels = NO_LABELS, nearest=None
    ) -> None:
        coder = MeddraCoder(release_from_folder(release), nearest_terms=nearest) if release else None
        self.cases: dict[str, Case] = {}
        self.intake = RegulatoryIntake(
            sender=SENDER,
            rules=rule_set(rules),
            keyer=hmac_keyer(b"test-secret"),
            index=MemoryIndex(),
            read_linked=lambda ids: [self.cases[i] for i in ids if i in self.cases],
            coder=coder,
            labels=labels,
        )

    def open(self, doc: SourceDocument, status: str = "confirmed") -> Case:
        from pv.intelligence import assess_case

        facts = assess_case(doc, [])
        case_id = f"PV-{doc.document_id[:20].upper()}"
        record = self.intake.record(case_id, doc, facts, doc.received_at)
        assert record.due_rule is not None
        case = Case(
            case_id=case_id,
            document_id=doc.document_id,
            channel=doc.channel,
            source_key=doc.source_key,
            status=status,  # type: ignore[arg-type]
            received_at=doc.received_at,
            due_date=record.due_rule.due_date,
            created_at=doc.received_at,
            flagged=[],
            facts=facts,
            regulatory=record,
        )
        self.cases[case_id] = case
        self.intake.index_case(case)
        return case


def email(
    text: str,
    *,
    sender: str = "Jane Doe <jane.doe@example.com>",
    message_id: str = "<a1@mail.example.com>",
    in_reply_to: str = "",
    received: datetime = datetime(2025, 3, 1, 9, 30, tzinfo=UTC),
    seed: str = "1",
) -> SourceDocument:
    """An email as the parser makes it, with thread headers in its metadata."""
    doc = document(text, Channel.EMAIL, metadata={"from": sender, "message_id": message_id})
    metadata = dict(doc.metadata)
    if in_reply_to:
        metadata["in_reply_to"] = in_reply_to
        metadata["references"] = in_reply_to
    return doc.model_copy(
        update={"document_id": (seed * 64)[:64], "metadata": metadata, "received_at": received}
    )
