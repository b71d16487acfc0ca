"""Regulatory due dates as data: the rule sets of `due_date_rules.json`, one chosen per deployment.

"Unexpected" (for the FDA rules) means a reaction that is not among the product's labelled
reactions, as the user lists them (`ProductLabels`: per generic drug name, PT or LLT codes or
names); a suspect drug with no label listed makes every reaction unexpected, so that nothing
expedited is reported late for want of a label.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from pv.case_models import Case
from pv.cases import due_date
from pv.regulatory.coding import fold
from pv.regulatory.models import DueRuleApplied, EventCoding

RULES_FILE = Path(__file__).with_name("due_date_rules.json")
DEFAULT_RULE_SET = "EU"


class UnknownRuleSet(ValueError):
    """The configured rule set is not in the rules file."""


@dataclass(frozen=True)
class DueDateRules:
    """One rule set: its rules in order, the first that holds applies."""

    name: str
    description: str
    rules: tuple[dict[str, Any], ...]

    def apply(self, received_at: datetime, *, serious: bool, unexpected: bool) -> DueRuleApplied:
        """The rule for a case received at `received_at`, and the due date it sets."""
        facts = {"serious": serious, "unexpected": unexpected}
        for rule in self.rules:
            if all(facts.get(k) == v for k, v in (rule.get("when") or {}).items()):
                return DueRuleApplied(
                    rule_set=self.name,
                    rule_id=rule["id"],
                    description=rule["description"],
                    report=rule["report"],
                    days=rule.get("days"),
                    due_date=_due(received_at.date(), rule),
                    unexpected=unexpected if _tests(self.rules, "unexpected") else None,
                )
        raise UnknownRuleSet(f"no rule of {self.name} applies to serious={serious} unexpected={unexpected}")


def _tests(rules: Iterable[dict[str, Any]], fact: str) -> bool:
    return any(fact in (r.get("when") or {}) for r in rules)


def _due(received: date, rule: dict[str, Any]) -> date:
    if rule["report"] == "expedited":
        return received + timedelta(days=int(rule["days"]))
    period = rule.get("period", "quarter")
    if period == "year":
        end = date(received.year, 12, 31)
    else:
        last_month = ((received.month - 1) // 3 + 1) * 3
        next_month = date(received.year + last_month // 12, last_month % 12 + 1, 1)
        end = next_month - timedelta(days=1)
    return end + timedelta(days=int(rule.get("grace_days", 0)))


@lru_cache(maxsize=8)
def rule_set(name: str = DEFAULT_RULE_SET, path: str | None = None) -> DueDateRules:
    """A rule set of the rules file (the shipped one unless `path` names another)."""
    data = json.loads(Path(path or RULES_FILE).read_text(encoding="utf-8"))
    if name not in data or name.startswith("_"):
        known = ", ".join(k for k in data if not k.startswith("_"))
        raise UnknownRuleSet(f"unknown due-date rule set {name!r} (known: {known})")
    entry = data[name]
    return DueDateRules(name=name, description=entry["description"], rules=tuple(entry["rules"]))


def redated(case: Case, unexpected: bool | None = None) -> Case:
    """The case with the due date its seriousness gives now: its recorded rule set applied again
    (expectedness as recorded unless `unexpected` says), or 15/90 days for a case without one."""
    record = case.regulatory
    if record is None or record.due_rule is None:
        return case.model_copy(update={"due_date": due_date(case.received_at, case.facts.serious)})
    if unexpected is None:
        unexpected = bool(record.due_rule.unexpected)
    applied = rule_set(record.due_rule.rule_set).apply(
        case.received_at, serious=case.facts.serious, unexpected=unexpected
    )
    return case.model_copy(
        update={"due_date": applied.due_date, "regulatory": record.model_copy(update={"due_rule": applied})}
    )


@dataclass(frozen=True)
class ProductLabels:
    """The labelled reactions of each product: generic name -> PT/LLT codes or names."""

    labelled: Mapping[str, frozenset[str]]

    @classmethod
    def from_json(cls, text: str | bytes) -> ProductLabels:
        """`{"amoxicillin": ["Rash", "10037844", ...], ...}` (codes or names, any case)."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("product labels: a JSON object of drug -> list of reactions")
        return cls(
            {fold(drug): frozenset(fold(str(r)) for r in reactions) for drug, reactions in data.items()}
        )

    def is_unexpected(self, drugs: Iterable[str], codings: Iterable[EventCoding]) -> bool:
        """Whether any reaction is not labelled for some suspect drug (no label: unexpected)."""
        codings, drugs = list(codings), list(drugs)
        if not drugs:
            return True
        for drug in drugs:
            label = self.labelled.get(fold(drug))
            if label is None:
                return True
            for coding in codings:
                names = {fold(coding.event), fold(coding.verbatim)}
                if coding.term is not None:
                    term = coding.term
                    names |= {term.pt_code, term.llt_code, fold(term.pt_name), fold(term.llt_name)}
                if not names & label:
                    return True
        return False


NO_LABELS = ProductLabels({})
