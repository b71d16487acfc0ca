"""A social post's product: the candidate suspect drug when its text names none, recorded as the feed's."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pv.case_models import Case
from pv.cases import alert_for
from pv.channels import parse_object, parse_social_message
from pv.intelligence import adverse_event_sentences, assess_case
from pv.models import SourceDocument

LANDED = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def _post(text: str, product: object) -> SourceDocument:
    document = parse_social_message(json.dumps({"id": "p-1", "text": text, "product": product}), LANDED)
    assert isinstance(document, SourceDocument)
    return document


@pytest.mark.parametrize(
    ("product", "names"),
    [
        ("Lipitor", ["Lipitor"]),
        (["Lipitor", " Zoloft ", "", "Lipitor"], ["Lipitor", "Zoloft"]),
        (None, []),
        (42, []),
    ],
)
def test_a_post_carries_its_product_as_one_name_or_a_list(product: object, names: list[str]):
    assert _post("nice day", product).products == names


def test_a_jsonl_post_and_a_queue_post_read_the_product_alike():
    line = {"id": "p-1", "text": "2 weeks on this and my muscles ache", "products": ["Lipitor"]}
    [from_file] = parse_object("social/feed.jsonl", json.dumps(line).encode() + b"\n", LANDED, 10**6)
    from_queue = parse_social_message(json.dumps(line), LANDED)
    assert isinstance(from_file, SourceDocument) and isinstance(from_queue, SourceDocument)
    assert from_file.products == from_queue.products == ["Lipitor"]


def test_the_product_is_the_suspect_of_a_post_whose_text_names_no_drug():
    """GIVEN a review under Lipitor's page that says "this" WHEN screened and assessed THEN the rules
    flag it, atorvastatin is the suspect, recorded as the feed's, and the summary and alert say so."""
    document = _post("2 weeks on this and my muscles ache, cant climb stairs", "Lipitor")
    assert adverse_event_sentences(document)
    facts = assess_case(document, [])
    assert facts.suspect_drugs == ["atorvastatin"]
    assert facts.events == ["myalgia", "gait disturbance"]
    [drug] = [m for m in facts.mentions if m.kind == "drug"]
    assert (drug.text, drug.source, drug.role) == ("Lipitor", "feed", "suspect")
    assert "atorvastatin is the post's product (from the feed)" in facts.summary
    assert "suspect_drug" not in facts.missing_elements
    case = Case(
        case_id="PV-1",
        document_id=document.document_id,
        channel=document.channel,
        source_key=document.source_key,
        status="new",
        received_at=LANDED,
        due_date=LANDED.date(),
        created_at=LANDED,
        flagged=[],
        facts=facts,
    )
    assert alert_for(case).drugs_from_feed == ["atorvastatin"]


def test_the_drugs_the_text_names_come_before_the_product():
    """GIVEN a post under Lipitor that blames amoxicillin WHEN assessed THEN amoxicillin is the
    suspect; the product is recorded from the feed, not as a suspect."""
    facts = assess_case(_post("my amoxicillin gave me a rash", "Lipitor"), [])
    assert facts.suspect_drugs == ["amoxicillin"]
    assert [(m.normalized, m.role, m.source) for m in facts.mentions if m.kind == "drug"] == [
        ("amoxicillin", "suspect", "text"),
        ("atorvastatin", "other", "feed"),
    ]
    assert "from the feed" not in facts.summary


def test_a_product_the_text_names_is_the_texts_mention():
    facts = assess_case(_post("lipitor got my muscles aching", "Lipitor"), [])
    assert [(m.normalized, m.source) for m in facts.mentions if m.kind == "drug"] == [
        ("atorvastatin", "text")
    ]


def test_a_product_the_vocabulary_does_not_know_is_kept_in_lowercase():
    facts = assess_case(_post("since starting this my muscles ache", "Zorvastib XR"), [])
    assert facts.suspect_drugs == ["zorvastib xr"]


def test_a_post_with_a_product_and_no_reaction_is_not_flagged_by_the_rules():
    assert (
        adverse_event_sentences(_post("just picked up my refill, the line was out the door", "Ozempic")) == []
    )
