"""Pydantic models of cases: what case intelligence makes of a flagged document, the stored case
and its alert (CaseFunction and the review API; ScreenFunction never loads them)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from pv.models import Channel, SentenceScore
from pv.regulatory.models import RegulatoryRecord

# The ICH E2A seriousness criteria, most severe first (the order cases and alerts list them in).
Criterion = Literal[
    "death",
    "life_threatening",
    "hospitalisation",
    "disability",
    "congenital_anomaly",
    "medically_important",
]


class SeriousnessCriterion(BaseModel):
    """One ICH E2A seriousness criterion met, with the sentence that shows it."""

    criterion: Criterion
    evidence: str


class Mention(BaseModel):
    """A drug or event named in the text, normalized where possible."""

    text: str
    normalized: str
    negated: bool = False
    uncertain: bool = False
    role: Literal["suspect", "indication", "history", "family", "treatment", "concomitant", "other"] = (
        "suspect"
    )
    # None only in cases stored before the kind was recorded.
    kind: Literal["drug", "event"] | None = None
    # "feed": a social post's product, the candidate suspect when its text names no drug; the text
    # itself does not name it.
    source: Literal["text", "feed"] = "text"


ValidCaseElement = Literal["reporter", "patient", "suspect_drug", "adverse_event"]


class CaseFacts(BaseModel):
    """What case intelligence makes of a flagged document (the seam CaseFunction calls)."""

    suspect_drugs: list[str] = Field(default_factory=list)
    events: list[str] = Field(default_factory=list)
    mentions: list[Mention] = Field(default_factory=list)
    serious: bool = False
    seriousness_criteria: list[SeriousnessCriterion] = Field(default_factory=list)
    patient: str | None = Field(default=None, description="who the patient is: reporter, relative, ...")
    missing_elements: list[ValidCaseElement] = Field(default_factory=list)
    language: str | None = Field(default=None, description="ISO 639-1 code; non-English needs review")
    summary: str = Field(description="redacted: safe to publish")
    vocabularies: dict[str, str] = Field(
        default_factory=dict,
        description="the vocabulary versions the case was read with: drugs, hpo (README 'Vocabularies')",
    )


# A case opens `new` (or `incomplete`: a valid-case element missing), goes `in_review`, is decided
# `confirmed`, `not_ae` or `needs_follow_up`, and ends `closed` (pv.review.lifecycle has the rules).
CaseStatus = Literal["new", "incomplete", "in_review", "confirmed", "not_ae", "needs_follow_up", "closed"]


class Case(BaseModel):
    """A stored adverse-event case."""

    case_id: str
    document_id: str
    channel: Channel
    source_key: str
    status: CaseStatus
    received_at: datetime
    due_date: date
    created_at: datetime
    flagged: list[SentenceScore] = Field(description="the top MAX_INLINE_FLAGGED flagged sentences")
    flagged_count: int = Field(default=0, description="how many sentences were flagged in all")
    flagged_ref: str | None = Field(
        default=None, description="S3 key of the full flagged list, when there are more than `flagged` holds"
    )
    facts: CaseFacts
    alert_state: Literal["pending", "sent"] = "pending"
    # Review: every change bumps `version` (optimistic concurrency) and appends an audit record.
    version: int = 1
    updated_at: datetime | None = None
    assignee: str | None = Field(default=None, description="username of the reviewer working the case")
    document_ref: str | None = Field(default=None, description="S3 key of the parsed SourceDocument")
    regulatory: RegulatoryRecord | None = Field(
        default=None, description="MedDRA coding, due-date rule, links and ICSR version (pv.regulatory)"
    )


class SafetyAlert(BaseModel):
    """The SNS message: ids, seriousness, drugs, events, redacted summary. No personal data."""

    case_id: str
    document_id: str
    channel: Channel
    status: CaseStatus
    serious: bool
    seriousness_criteria: list[str]
    suspect_drugs: list[str]
    events: list[str]
    summary: str
    due_date: date
    received_at: datetime
    drugs_from_feed: list[str] = Field(
        default_factory=list, description="suspect drugs that are the post's product, not named in its text"
    )
