"""The review API's models: who asks, what they decide and correct, what the inbox and the case view
return, and the audit records every change leaves. Pydantic, so the routes validate against them and
the OpenAPI document is generated from them."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pv.case_models import CaseStatus, Criterion, ValidCaseElement
from pv.models import Channel
from pv.regulatory.models import RegulatoryView

Decision = Literal["confirmed", "not_ae", "needs_follow_up", "closed"]
SortOrder = Literal["asc", "desc"]

ALL_STATUSES: tuple[CaseStatus, ...] = (
    "new",
    "incomplete",
    "in_review",
    "needs_follow_up",
    "confirmed",
    "not_ae",
    "closed",
)


class Role(StrEnum):
    """What a signed-in user may do: the Cognito group they belong to."""

    REVIEWER = "reviewer"  # sees document text, starts reviews, decides and corrects
    VIEWER = "viewer"  # sees the redacted view only


class Actor(BaseModel):
    """Who made a request: the token's subject, username and role."""

    model_config = ConfigDict(frozen=True)

    sub: str
    username: str
    role: Role


# ----------------------------------------------------------------------------------- requests


class CriterionCorrection(BaseModel):
    """A seriousness criterion the reviewer holds met, with the evidence they cite."""

    criterion: Criterion
    evidence: str | None = Field(default=None, max_length=2000)


def _names(values: list[str] | None) -> list[str] | None:
    """Trimmed, lowercased, without blanks or repeats (generic names are stored lowercase)."""
    if values is None:
        return None
    return list(dict.fromkeys(v.strip().lower() for v in values if v.strip()))


class Corrections(BaseModel):
    """What a reviewer corrects with a decision; a field left out stays as it is."""

    model_config = ConfigDict(extra="forbid")

    suspect_drugs: list[str] | None = Field(default=None, max_length=40, description="generic names")
    events: list[str] | None = Field(default=None, max_length=40)
    seriousness_criteria: list[CriterionCorrection] | None = Field(
        default=None, max_length=6, description="every criterion met; an empty list: not serious"
    )
    patient: str | None = Field(default=None, max_length=200, description="who the patient is")

    @field_validator("suspect_drugs", "events")
    @classmethod
    def _clean_names(cls, values: list[str] | None) -> list[str] | None:
        cleaned = _names(values)
        if cleaned is not None and any(len(v) > 200 for v in cleaned):
            raise ValueError("a name is at most 200 characters")
        return cleaned

    def is_empty(self) -> bool:
        return not self.model_dump(exclude_none=True)


class DecisionRequest(BaseModel):
    """`POST /cases/{case_id}/decision`."""

    model_config = ConfigDict(extra="forbid")

    decision: Decision
    reason: str = Field(min_length=1, max_length=2000, description="why: kept in the audit trail")
    expected_version: int = Field(ge=1, description="the case version the decision was made on")
    corrections: Corrections | None = None

    @field_validator("reason")
    @classmethod
    def _reason_said(cls, reason: str) -> str:
        if not reason.strip():
            raise ValueError("a reason is required")
        return reason.strip()


class StartReviewRequest(BaseModel):
    """`POST /cases/{case_id}/review`: the reviewer takes the case (status `in_review`)."""

    model_config = ConfigDict(extra="forbid")

    expected_version: int = Field(ge=1)


# ----------------------------------------------------------------------------------- the inbox


class InboxQuery(BaseModel):
    """`GET /cases` filters; every one is answered from an index (never a table scan)."""

    statuses: list[CaseStatus] = Field(default_factory=lambda: list(ALL_STATUSES))
    serious: bool | None = None
    channel: Channel | None = None
    drug: str | None = None
    due_before: date | None = Field(default=None, description="due strictly before this date")
    order: SortOrder = "asc"
    limit: int = Field(default=50, ge=1, le=100)
    cursor: str | None = None

    def fingerprint(self) -> str:
        """The filters a cursor belongs to (a cursor of other filters is refused)."""
        return self.model_dump_json(exclude={"limit", "cursor"})


class CaseRow(BaseModel):
    """One inbox line: what the indexes carry, no text, no personal data."""

    case_id: str
    status: CaseStatus
    due_date: date
    overdue: bool
    received_at: datetime | None = None
    serious: bool
    channel: Channel | None = None
    suspect_drugs: list[str] = Field(default_factory=list)
    events: list[str] = Field(default_factory=list)
    version: int = 1


class CasePage(BaseModel):
    cases: list[CaseRow]
    next_cursor: str | None = Field(default=None, description="pass as `cursor` for the next page")


# ------------------------------------------------------------------------------- the case view


HighlightKind = Literal["flagged", "drug", "event"]


class Highlight(BaseModel):
    """A marked stretch of the document text: [start, end) character offsets."""

    start: int
    end: int
    kind: HighlightKind
    label: str = Field(description="the flagged sentence's score, or the normalized drug or event")
    role: str | None = Field(default=None, description="drugs and events: suspect, treatment, ...")


class DocumentUnit(BaseModel):
    """A part of the document text: an email body, a quoted reply, a speaker turn ..."""

    kind: str
    speaker: str | None = None
    screened: bool
    start: int
    end: int


class ReviewDocument(BaseModel):
    text: str
    redacted: bool = Field(description="true: personal data replaced by placeholders ([NAME], ...)")
    units: list[DocumentUnit]
    highlights: list[Highlight]


class FlaggedSentence(BaseModel):
    text: str
    score: float
    start: int | None = Field(default=None, description="offsets in the document text, when found")
    end: int | None = None


class CriterionView(BaseModel):
    criterion: Criterion
    evidence: str
    start: int | None = None
    end: int | None = None


class MentionView(BaseModel):
    text: str
    normalized: str
    kind: Literal["drug", "event"] | None = None
    role: str
    negated: bool = False


class CaseView(BaseModel):
    """`GET /cases/{case_id}`: facts, flagged sentences, the marked-up document, the version."""

    case_id: str
    document_id: str
    version: int
    status: CaseStatus
    channel: Channel
    source_key: str | None = Field(default=None, description="reviewers only (a file name may name someone)")
    received_at: datetime
    created_at: datetime
    updated_at: datetime | None = None
    due_date: date
    overdue: bool
    assignee: str | None = None
    alert_state: str
    allowed_decisions: list[Decision]
    can_start_review: bool
    suspect_drugs: list[str]
    events: list[str]
    serious: bool
    seriousness_criteria: list[CriterionView]
    patient: str | None = None
    missing_elements: list[ValidCaseElement]
    language: str | None = None
    summary: str
    mentions: list[MentionView]
    flagged: list[FlaggedSentence] = Field(
        description="the top-scoring flagged sentences (at most 50), highlighted in the document"
    )
    flagged_count: int = Field(default=0, description="how many sentences were flagged in all")
    document: ReviewDocument | None = Field(default=None, description="null when the parsed document is gone")
    regulatory: RegulatoryView | None = Field(
        default=None, description="MedDRA coding, links to possible duplicates and follow-ups, ICSR exports"
    )


# ---------------------------------------------------------------------------------- the audit


class FieldChange(BaseModel):
    """One field of the case, before and after (`facts.events`, `status`, ...)."""

    field: str
    before: Any = None
    after: Any = None


class AuditRecord(BaseModel):
    """An append-only record of one change to a case: who, when, what, before and after.

    `seq` is the case version the change produced, so a case's records are numbered without gaps
    and a second writer of the same version fails its transaction.
    """

    case_id: str
    seq: int
    at: datetime
    actor: Actor
    action: str = Field(
        description="review_started, decision, e2b_exported, link_confirmed, link_rejected, "
        "follow_up_added, term_chosen"
    )
    decision: Decision | None = None
    reason: str | None = None
    from_status: CaseStatus
    to_status: CaseStatus
    changes: list[FieldChange] = Field(default_factory=list)
    details: dict[str, Any] = Field(default_factory=dict, description="what else the action records")
    request_id: str | None = None


class AuditTrail(BaseModel):
    case_id: str
    records: list[AuditRecord]


class ErrorBody(BaseModel):
    """Every error answer: a short code and a message."""

    error: str
    message: str
    current_version: int | None = None
    reasons: list[str] | None = Field(default=None, description="export_refused: why, one reason each")
