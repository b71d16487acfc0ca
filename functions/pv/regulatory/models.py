"""Pydantic models of the regulatory record a case carries: MedDRA coding, the due-date rule that
set its due date, keyed match keys, links to possible duplicates and follow-ups, its ICSR version.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


class MeddraTerm(BaseModel):
    """A lowest-level term with its preferred term and primary system organ class, in one release."""

    llt_code: str
    llt_name: str
    pt_code: str
    pt_name: str
    soc_code: str = ""
    soc_name: str = ""
    version: str = Field(description="the MedDRA release the codes come from (E.i.2.1a)")


CodingStatus = Literal["coded", "ambiguous", "uncoded", "no_dictionary"]
CodingMethod = Literal["exact", "variant", "synonym", "embedding", "reviewer"]


class EventCoding(BaseModel):
    """One reaction of a case: the reporter's words and the MedDRA term they are coded to.

    `ambiguous` and `uncoded` are flagged for the reviewer, who picks the term (`reviewer`).
    """

    event: str = Field(description="the normalized event name of the case facts")
    verbatim: str = Field(description="the reaction as reported (E.i.1.1a)")
    status: CodingStatus
    method: CodingMethod | None = None
    term: MeddraTerm | None = None
    candidates: list[MeddraTerm] = Field(default_factory=list, description="terms the reviewer may pick")
    note: str | None = None
    coded_by: str | None = Field(default=None, description="the reviewer who picked the term")

    @property
    def needs_review(self) -> bool:
        return self.status in ("ambiguous", "uncoded")


class DueRuleApplied(BaseModel):
    """The due-date rule that set a case's due date, as the rules file names it."""

    rule_set: str
    rule_id: str
    description: str
    report: Literal["expedited", "periodic"]
    days: int | None = None
    due_date: date
    unexpected: bool | None = Field(
        default=None, description="FDA rules: not in the product's labelled reactions (or no label given)"
    )


LinkKind = Literal["possible_duplicate", "possible_follow_up"]
LinkReason = Literal["same_thread", "same_reporter", "same_patient_drug_events"]
LinkStatus = Literal["proposed", "confirmed", "rejected"]


class CaseLink(BaseModel):
    """A possible duplicate or follow-up of an earlier case, and what the reviewer decided."""

    case_id: str = Field(description="the earlier case")
    kind: LinkKind
    reasons: list[LinkReason]
    status: LinkStatus = "proposed"
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_reason: str | None = None


class ExportRecord(BaseModel):
    """An E2B(R3) export written to the bucket."""

    key: str
    sha256: str
    report_version: int
    exported_at: datetime
    exported_by: str
    case_version: int | None = Field(default=None, description="the case version the ICSR was made from")


class PatientDetails(BaseModel):
    """What the export says of the patient (D): never a name, only what the text shows."""

    identifiable: bool = False
    sex: Literal["male", "female"] | None = None
    age_years: int | None = None


Qualification = Literal["physician", "pharmacist", "other_health_professional", "consumer"]


class RegulatoryRecord(BaseModel):
    """What a case holds for regulators. No raw identifier: match keys are keyed hashes."""

    worldwide_case_id: str = Field(description="C.1.8.1: kept by every version of the case")
    safety_report_id: str = Field(description="C.1.1: the sender's id of the case, kept across versions")
    report_version: int = Field(default=1, description="1 for the initial report, 2 for its first follow-up")
    follow_up_of: str | None = Field(
        default=None, description="the case this one is a confirmed follow-up of"
    )
    follow_ups: list[str] = Field(default_factory=list, description="confirmed follow-ups, oldest first")
    duplicate_of: str | None = None
    patient: PatientDetails = Field(default_factory=PatientDetails)
    reporter_qualification: Qualification = "consumer"
    interacting_drugs: list[str] = Field(
        default_factory=list, description="suspects the reporter says interact"
    )
    meddra_version: str | None = None
    coding: list[EventCoding] = Field(default_factory=list)
    coding_note: str | None = Field(default=None, description="why events are not coded, when they are not")
    due_rule: DueRuleApplied | None = None
    match_keys: list[str] = Field(default_factory=list, description="keyed hashes this case is indexed under")
    links: list[CaseLink] = Field(default_factory=list)
    exports: list[ExportRecord] = Field(default_factory=list)

    @property
    def coding_needs_review(self) -> bool:
        return any(c.needs_review for c in self.coding)


# ------------------------------------------------------------------- the review API's side


def _said(text: str) -> str:
    if not text.strip():
        raise ValueError("a reason is required")
    return text.strip()


Reason = Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(_said)]


class LinkDecisionRequest(BaseModel):
    """`POST /cases/{case_id}/links/{linked_case_id}`: the reviewer's call on a proposed link."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["confirmed", "rejected"]
    reason: Reason = Field(description="why: kept in the audit trail")
    expected_version: int = Field(ge=1, description="the case version the decision was made on")


class TermChoiceRequest(BaseModel):
    """`POST /cases/{case_id}/coding`: code a reaction to the current LLT the reviewer picked."""

    model_config = ConfigDict(extra="forbid")

    event: str = Field(min_length=1, max_length=200, description="the reaction (its `event` name)")
    llt_code: str = Field(pattern=r"^\d{1,12}$", description="a current LLT of the configured release")
    reason: str | None = Field(default=None, max_length=2000)
    expected_version: int = Field(ge=1)


class TermSearch(BaseModel):
    """`GET /meddra/terms`: current LLTs of the configured release whose name holds the words."""

    version: str | None = Field(description="the release searched; null: no MedDRA release configured")
    terms: list[MeddraTerm]


class RegulatoryView(BaseModel):
    """What the case view shows of the regulatory record (no match keys; for a viewer, no patient
    details, and the reporter's words and reviewers' reasons redacted)."""

    worldwide_case_id: str
    safety_report_id: str
    report_version: int
    follow_up_of: str | None = None
    follow_ups: list[str] = Field(default_factory=list)
    duplicate_of: str | None = None
    patient: PatientDetails | None = None
    reporter_qualification: Qualification | None = None
    meddra_version: str | None = None
    coding: list[EventCoding] = Field(default_factory=list)
    coding_note: str | None = None
    needs_coding: bool = Field(description="a reaction is ambiguous or uncoded: the reviewer picks its term")
    due_rule: DueRuleApplied | None = None
    links: list[CaseLink] = Field(default_factory=list)
    exports: list[ExportRecord] = Field(default_factory=list)
    exportable: bool = Field(description="confirmed, valid and not a duplicate: GET /cases/{case_id}/e2b")
    export_refusals: list[str] = Field(default_factory=list, description="why it may not be exported yet")
