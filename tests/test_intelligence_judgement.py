"""Judge the document, not the sentence: a reaction and a drug in it are not yet an adverse event."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pv.intelligence import adverse_event_sentences
from pv.models import Channel, SourceDocument, TextUnit


def _email(text: str) -> SourceDocument:
    return SourceDocument(
        document_id="d" * 64,
        channel=Channel.EMAIL,
        source_key="email/x.eml",
        received_at=datetime(2026, 1, 1, tzinfo=UTC),
        units=[TextUnit(kind="body", text=text)],
        metadata={"from": "Jane Doe <jane.doe@example.com>"},
    )


@pytest.mark.parametrize(
    "text",
    [
        "Please disregard my earlier email about palpitations on Eltroxin. It is not the tablets.",
        "I thought my magnesium supplement gave me stomach cramps, but it turned out to be food poisoning.",
        "My ankles swelled on amlodipine. The heart doctor said it's my heart failure getting worse.",
        "I've had insomnia for 15 years and started zolpidem in May; my sleep is no worse.",
        "I'm starting pregabalin tomorrow. I already get dizzy spells. Will it make it worse?",
        "I've been prescribed Wegovy but I haven't injected yet. I have had a headache all day.",
        "Sponsored | Feeling tired and dizzy? Try our iron tablets today. Shop now with 25% off.",
        "Still exhausted six weeks into levothyroxine: my TSH is still high, so the dose goes up.",
        "Update to my post about cetirizine and hives. It wasn't the cetirizine, it's the washing powder.",
        "Mum fainted on her new amlodipine. Turns out she'd had a urine infection.",
        "Had the swollen ankles before I ever started amlodipine. It's my veins, per my doctor.",
        "My husband started donepezil and has bad dreams, but he's had nightmares his whole life. "
        "Honestly no different.",
        "Day 2 of Paxlovid, fever still 38.5. Doc says thats the covid, tablets take a few days.",
        "Please send 30 copies. The Jardiance SmPC lists vaginal thrush and balanitis as common.",
        "Rosuvastatin changed my life: my headaches have gone. 10/10, no side effects.",
        "I blamed the ibuprofen when I got stomach pain, but the scan found gallstones.",
        "People keep telling me it's the sertraline. I get headaches every day.",
        "I have a rash on my hands since lamotrigine. The dermatologist believes it is from the hair dye.",
        "Started bisoprolol for my heart. My palpitations have calmed right down. 9/10.",
        "Omeprazole at night: the heartburn is gone and no stomach issues at all.",
        "After the Benadryl my son was hyper, but he was hyper before I gave it too.",
        "Reporting a near miss: a methotrexate overdose was prescribed, spotted it before it was dispensed.",
    ],
)
def test_a_document_that_says_otherwise_is_not_flagged_by_the_rules(text: str):
    """GIVEN a retraction, another cause, a symptom older than the drug, a drug not taken yet, an
    advert, a disease not controlled yet WHEN the rules read the whole document THEN no AE."""
    assert adverse_event_sentences(_email(text)) == []
    assert adverse_event_sentences(_email(text), judge_document=False)


@pytest.mark.parametrize(
    "text",
    [
        "I get headaches every day since lisinopril; I never had a headache before I started it.",
        "I read a study about statins, but since starting Lipitor my muscles ache.",
        "My GP says it's a reaction to the amoxicillin: the rash is all over my arms.",
        "I've been on metformin for years and since the dose went up I have diarrhoea.",
        "It wasn't this bad before, but since starting sertraline I feel sick every morning.",
        "I don't think it is serious, but since starting Lipitor my muscles ache.",
        "Works great, 9/10, no problems except the nausea from the metformin.",
        "Never thought eye drops could do this, but since starting timolol my pulse is slow. The GP said so.",
        "I wondered if it was my Lipitor and my GP said yes, it's the statin: my muscles ache.",
        "A man developed a facial droop 9 days after a Comirnaty booster. Diagnosed as Bell's palsy.",
        "The rash has gone since I stopped the amoxicillin. I had a rash all over for a week.",
    ],
)
def test_a_report_that_only_sounds_like_a_negative_is_still_flagged(text: str):
    """GIVEN reports with "before I started", "a study", "says it's", "for years" WHEN read THEN the
    rules still flag them: for a safety team a missed report costs more than a review."""
    assert adverse_event_sentences(_email(text))
