"""The status lifecycle of a case and what a decision does to it.

    new / incomplete ──> in_review ──> confirmed | not_ae | needs_follow_up ──> closed

A reviewer may decide a new case at once (it passes through review in that one step), send a
follow-up case back to review when the answer comes, reopen a confirmed or not-AE case, and close a
decided one. Nothing is ever deleted: a `not_ae` case stays, with its history.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pv.case_models import Case, CaseFacts, CaseStatus, SeriousnessCriterion, ValidCaseElement
from pv.cases import due_date

from .models import Corrections, Decision, FieldChange

REVIEWABLE: frozenset[CaseStatus] = frozenset({"new", "incomplete", "needs_follow_up", "confirmed", "not_ae"})
DECISIONS_FROM: dict[CaseStatus, tuple[Decision, ...]] = {
    "new": ("confirmed", "not_ae", "needs_follow_up"),
    "incomplete": ("confirmed", "not_ae", "needs_follow_up"),
    "in_review": ("confirmed", "not_ae", "needs_follow_up"),
    "needs_follow_up": ("confirmed", "not_ae", "needs_follow_up", "closed"),
    "confirmed": ("closed",),
    "not_ae": ("closed",),
    "closed": (),
}
# A report is still owed for these: past its due date such a case is overdue.
REPORT_OWED: frozenset[CaseStatus] = frozenset(
    {"new", "incomplete", "in_review", "needs_follow_up", "confirmed"}
)
REVIEWER_EVIDENCE = "set by the reviewer"


class InvalidTransition(Exception):
    """The case's status does not allow this change."""


def is_overdue(status: str, due: date, today: date) -> bool:
    return status in REPORT_OWED and due < today


def start_review(case: Case, username: str) -> Case:
    """The reviewer takes the case."""
    if case.status not in REVIEWABLE:
        raise InvalidTransition(f"a {case.status} case cannot go back to review")
    return case.model_copy(update={"status": "in_review", "assignee": username})


def decide(case: Case, decision: Decision, corrections: Corrections | None) -> Case:
    """The case after a decision and the reviewer's corrections (due date from the received date)."""
    if decision not in DECISIONS_FROM[case.status]:
        raise InvalidTransition(f"a {case.status} case cannot be decided {decision}")
    if decision == "closed" and corrections is not None and not corrections.is_empty():
        raise InvalidTransition("closing records no corrections: reopen the case to correct it")
    facts = corrected(case.facts, corrections) if corrections is not None else case.facts
    return case.model_copy(
        update={
            "status": decision,
            "facts": facts,
            "due_date": due_date(case.received_at, facts.serious),
        }
    )


def corrected(facts: CaseFacts, corrections: Corrections) -> CaseFacts:
    """The facts with the corrections applied; the valid-case elements follow them."""
    update: dict[str, Any] = {}
    if corrections.suspect_drugs is not None:
        update["suspect_drugs"] = corrections.suspect_drugs
    if corrections.events is not None:
        update["events"] = corrections.events
    if corrections.seriousness_criteria is not None:
        kept = {c.criterion: c.evidence for c in facts.seriousness_criteria}
        chosen = {c.criterion: c.evidence for c in corrections.seriousness_criteria}
        update["seriousness_criteria"] = [
            SeriousnessCriterion(criterion=name, evidence=evidence or kept.get(name) or REVIEWER_EVIDENCE)
            for name, evidence in chosen.items()
        ]
        update["serious"] = bool(chosen)
    if corrections.patient is not None:
        update["patient"] = corrections.patient.strip() or None
    new = facts.model_copy(update=update)
    return new.model_copy(update={"missing_elements": _missing(facts.missing_elements, new)})


def _missing(before: list[ValidCaseElement], facts: CaseFacts) -> list[ValidCaseElement]:
    present: dict[ValidCaseElement, bool] = {
        "suspect_drug": bool(facts.suspect_drugs),
        "adverse_event": bool(facts.events),
    }
    if facts.patient:
        present["patient"] = True
    order: list[ValidCaseElement] = ["reporter", "patient", "suspect_drug", "adverse_event"]
    return [e for e in order if (e in before and present.get(e) is not True) or present.get(e) is False]


def changes(
    before: Case, after: Case, *, ignore: frozenset[str] = frozenset({"version", "updated_at"})
) -> list[FieldChange]:
    """Every field that differs, facts field by field (`facts.events`), as JSON values."""
    old, new = before.model_dump(mode="json"), after.model_dump(mode="json")
    found: list[FieldChange] = []
    for name in dict.fromkeys([*old, *new]):
        if name in ignore or old.get(name) == new.get(name):
            continue
        if isinstance(old.get(name), dict) and isinstance(new.get(name), dict):
            for sub in dict.fromkeys([*old[name], *new[name]]):
                if old[name].get(sub) != new[name].get(sub):
                    found.append(
                        FieldChange(
                            field=f"{name}.{sub}", before=old[name].get(sub), after=new[name].get(sub)
                        )
                    )
        else:
            found.append(FieldChange(field=name, before=old.get(name), after=new.get(name)))
    return found
