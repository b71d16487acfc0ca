"""Duplicates and follow-ups: a new case linked to an earlier one by thread, caller or patient,
drug and events, matched on keyed hashes only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from case_inputs import document
from meddra_release import write_release
from pv.models import Channel, TextUnit
from regulatory_inputs import CaseDesk, email

RASH = "Two days after starting amoxicillin I got a rash all over my arms."
WORSE = "The rash from the amoxicillin has spread to my face now."


@pytest.fixture
def desk(tmp_path: Path) -> CaseDesk:
    return CaseDesk(write_release(tmp_path / "meddra", seed=11).folder)


def test_a_reply_in_the_same_thread_is_a_possible_follow_up(desk: CaseDesk) -> None:
    first = desk.open(email(RASH, message_id="<t1@mail.example.com>", seed="1"))
    reply = desk.open(
        email(WORSE, message_id="<t2@mail.example.com>", in_reply_to="<t1@mail.example.com>", seed="2")
    )
    [link] = reply.regulatory.links  # type: ignore[union-attr]
    assert link.case_id == first.case_id
    assert link.kind == "possible_follow_up" and "same_thread" in link.reasons
    assert link.status == "proposed"


def test_the_same_patient_drug_and_events_from_another_source_is_a_possible_duplicate(desk: CaseDesk) -> None:
    dob = " My date of birth is 12/04/1961."
    first = desk.open(email(RASH + dob, sender="Jane <jane@example.com>", message_id="<a@x>", seed="1"))
    again = desk.open(email(RASH + dob, sender="Pharmacy <shop@example.org>", message_id="<b@y>", seed="2"))
    [link] = again.regulatory.links  # type: ignore[union-attr]
    assert (link.case_id, link.kind, link.reasons) == (
        first.case_id,
        "possible_duplicate",
        ["same_patient_drug_events"],
    )


def test_another_patient_or_another_drug_or_outside_the_window_is_not_linked(desk: CaseDesk) -> None:
    desk.open(email(RASH, message_id="<a@x>", seed="1"))
    other_drug = desk.open(email("I got a rash after starting lisinopril.", message_id="<b@x>", seed="2"))
    late = desk.open(
        email(
            RASH,
            message_id="<c@x>",
            seed="3",
            received=datetime(2025, 3, 1, tzinfo=UTC) + timedelta(days=200),
        )
    )
    other_patient = desk.open(
        email(RASH, sender="Someone Else <else@example.net>", message_id="<d@x>", seed="4")
    )
    assert other_drug.regulatory.links == []  # type: ignore[union-attr]
    assert late.regulatory.links == []  # type: ignore[union-attr]
    assert other_patient.regulatory.links == []  # type: ignore[union-attr]


def _call(text: str, seed: str):
    doc = document("x", Channel.EMAIL)
    units = [
        TextUnit(kind="turn", speaker="agent", text="Patient support, how can I help?"),
        TextUnit(kind="turn", speaker="caller", text=text),
    ]
    return doc.model_copy(
        update={
            "channel": Channel.CALL,
            "units": units,
            "metadata": {},
            "document_id": seed * 64,
            "source_key": "call/x.txt",
        }
    )


def test_the_same_caller_is_a_possible_follow_up(desk: CaseDesk) -> None:
    first = desk.open(
        _call("My name is Rosa Flint, my number is 0117 496 0123. I got a rash on amoxicillin.", "1")
    )
    second = desk.open(_call("It's Rosa Flint again, 0117 496 0123. I was sick after the amoxicillin.", "2"))
    [link] = second.regulatory.links  # type: ignore[union-attr]
    assert link.case_id == first.case_id and link.reasons[0] == "same_reporter"
    assert link.kind == "possible_follow_up"


def test_keys_and_links_hold_no_raw_identifier(desk: CaseDesk) -> None:
    case = desk.open(
        email(
            RASH + " MRN 00482913, born on 12/04/1961.",
            sender="Jane <jane@example.com>",
            message_id="<t1@mail.example.com>",
        )
    )
    stored = case.regulatory.model_dump_json()  # type: ignore[union-attr]
    index = repr(desk.intake.index.keys)  # type: ignore[attr-defined]
    for raw in ("jane@example.com", "t1@mail.example.com", "00482913", "1961", "12/04"):
        assert raw not in stored and raw not in index
    assert {k.split(":")[0] for k in case.regulatory.match_keys} == {"thread", "patient"}  # type: ignore[union-attr]
