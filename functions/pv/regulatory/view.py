"""What the case view shows of a case's regulatory record, for a reviewer or, redacted, a viewer."""

from __future__ import annotations

from collections.abc import Callable, Collection

from pv.case_models import Case
from pv.regulatory.e2b import refusal_reasons
from pv.regulatory.models import PatientDetails, RegulatoryView


def regulatory_view(
    case: Case, redact: Callable[[str], str] | None = None, shown_events: Collection[str] | None = None
) -> RegulatoryView | None:
    """The record as the case view carries it; None for a case stored before records were kept.

    With `redact` (a viewer): only the reactions of `shown_events` (the names an alert could
    carry), the reporter's words and the reviewers' reasons redacted, no patient details."""
    record = case.regulatory
    if record is None:
        return None
    refusals = refusal_reasons(case)
    coding, links = record.coding, record.links
    patient: PatientDetails | None = record.patient
    if redact is not None:
        shown = set(shown_events or ())
        coding = [c.model_copy(update={"verbatim": redact(c.verbatim)}) for c in coding if c.event in shown]
        links = [
            lk.model_copy(update={"decision_reason": redact(lk.decision_reason)})
            if lk.decision_reason
            else lk
            for lk in links
        ]
        patient = None
    return RegulatoryView(
        worldwide_case_id=record.worldwide_case_id,
        safety_report_id=record.safety_report_id,
        report_version=record.report_version,
        follow_up_of=record.follow_up_of,
        follow_ups=record.follow_ups,
        duplicate_of=record.duplicate_of,
        patient=patient,
        reporter_qualification=record.reporter_qualification,
        meddra_version=record.meddra_version,
        coding=coding,
        coding_note=record.coding_note,
        needs_coding=record.coding_needs_review,
        due_rule=record.due_rule,
        links=links,
        exports=record.exports,
        exportable=not refusals,
        export_refusals=refusals,
    )
