"""Due-date rules as data: EU 15/90 days; FDA 15 days for serious and unexpected, periodic else."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from meddra_release import write_release
from pv.regulatory.due_dates import ProductLabels, UnknownRuleSet, rule_set
from regulatory_inputs import CaseDesk, email

RECEIVED = datetime(2025, 2, 10, 16, 0, tzinfo=UTC)
SERIOUS = "After starting amoxicillin I got a rash and was admitted to hospital overnight."
NOT_SERIOUS = "After starting amoxicillin I got a rash on my arms."


def test_eu_rules_give_15_days_serious_and_90_non_serious() -> None:
    eu = rule_set("EU")
    serious = eu.apply(RECEIVED, serious=True, unexpected=False)
    assert (serious.rule_id, serious.due_date, serious.report) == (
        "eu-serious-15",
        date(2025, 2, 25),
        "expedited",
    )
    assert eu.apply(RECEIVED, serious=False, unexpected=True).due_date == date(2025, 5, 11)
    assert serious.unexpected is None  # the EU rules do not ask


def test_fda_rules_expedite_serious_unexpected_and_send_the_rest_to_the_quarterly_report() -> None:
    fda = rule_set("FDA")
    alert = fda.apply(RECEIVED, serious=True, unexpected=True)
    assert (alert.rule_id, alert.due_date, alert.unexpected) == ("fda-15-day-alert", date(2025, 2, 25), True)
    expected = fda.apply(RECEIVED, serious=True, unexpected=False)
    assert (expected.rule_id, expected.report, expected.due_date) == (
        "fda-periodic",
        "periodic",
        date(2025, 4, 30),
    )
    december = fda.apply(datetime(2025, 12, 3, tzinfo=UTC), serious=False, unexpected=True)
    assert december.due_date == date(2026, 1, 30)


def test_an_unknown_rule_set_is_refused_with_the_known_ones() -> None:
    with pytest.raises(UnknownRuleSet, match="known: EU, FDA"):
        rule_set("MARS")


def test_the_case_records_its_rule_and_a_labelled_reaction_is_expected(tmp_path: Path) -> None:
    release = write_release(tmp_path / "meddra", seed=5)
    labels = ProductLabels.from_json('{"Amoxicillin": ["rash"]}')
    labelled = CaseDesk(release.folder, rules="FDA", labels=labels).open(email(SERIOUS))
    rule = labelled.regulatory.due_rule  # type: ignore[union-attr]
    assert (rule.rule_id, rule.unexpected) == ("fda-periodic", False)  # type: ignore[union-attr]
    assert labelled.due_date == rule.due_date  # type: ignore[union-attr]
    by_code = ProductLabels.from_json(f'{{"amoxicillin": ["{release.pt_codes["Vomiting"]}"]}}')
    unlabelled = CaseDesk(release.folder, rules="FDA", labels=by_code).open(email(SERIOUS))
    assert unlabelled.regulatory.due_rule.rule_id == "fda-15-day-alert"  # type: ignore[union-attr]


def test_without_labels_every_serious_reaction_is_unexpected(tmp_path: Path) -> None:
    case = CaseDesk(None, rules="FDA").open(email(SERIOUS))
    assert case.regulatory.due_rule.unexpected is True  # type: ignore[union-attr]
    eu = CaseDesk(None).open(email(NOT_SERIOUS))
    assert eu.regulatory.due_rule.rule_id == "eu-non-serious-90"  # type: ignore[union-attr]
