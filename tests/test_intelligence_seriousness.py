"""Seriousness rules on small written sentences: urgent treatment in emergency care as "medically
important", what must stay non-serious (an emergency visit alone, a normal INR, a denied admission,
a relative's hospitalisation), and the relative who is the patient."""

from __future__ import annotations

from importlib import resources

import pytest
from case_inputs import document
from pv.case_models import CaseFacts
from pv.intelligence import assess_case
from pv.intelligence.lexicon import lexicon
from pv.intelligence.seriousness import Sentence, criteria, urgent_treatment
from pv.intelligence.text import tokenize


def _assess(text: str) -> CaseFacts:
    return assess_case(document(text), [])


def _sentences(*texts: str) -> list[Sentence]:
    return [Sentence(t, tokenize(t)) for t in texts]


def _treatment_names() -> list[str]:
    text = resources.files("pv.resources").joinpath("emergency_treatments.tsv").read_text(encoding="utf-8")
    rows = [line.split("\t") for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return [name for row in rows for name in [row[0], *row[1].split("|")] if name]


@pytest.mark.parametrize(
    ("text", "evidence"),
    [
        (
            "I had a nosebleed on warfarin. I went to A&E and they gave me vitamin K.",
            "I went to A&E and they gave me vitamin K.",
        ),
        (
            "My nose bled on warfarin. I went to A&E and my INR was over 8. They gave me vitamin K.",
            "I went to A&E and my INR was over 8. They gave me vitamin K.",
        ),
        (
            "After the oxycodone I was barely breathing and the paramedics gave me Narcan.",
            "After the oxycodone I was barely breathing and the paramedics gave me Narcan.",
        ),
        (
            "My lips tingled after amoxicillin and in the ER they gave me adrenaline.",
            "My lips tingled after amoxicillin and in the ER they gave me adrenaline.",
        ),
        (
            "My husband took me to A&E after the Xarelto bleed and they gave me a transfusion.",
            "My husband took me to A&E after the Xarelto bleed and they gave me a transfusion.",
        ),
        (
            "My mum takes Eliquis. She fell and bled a lot and in A&E they gave her andexanet.",
            "She fell and bled a lot and in A&E they gave her andexanet.",
        ),
    ],
)
def test_rescue_treatment_given_in_emergency_care_is_medically_important(text: str, evidence: str):
    """GIVEN a reversal or rescue agent given in A&E, the ER or by paramedics (same or next sentence)
    WHEN assessed THEN the case is serious: medically important, with those sentences as evidence."""
    facts = _assess(text)
    assert facts.serious is True
    met = [(c.criterion, c.evidence) for c in facts.seriousness_criteria]
    assert met == [("medically_important", evidence)]


@pytest.mark.parametrize(
    "text",
    [
        "Warfarin gave me a nosebleed. I went to A&E just for reassurance and they sent me home.",
        "Hives after amoxicillin; in A&E they gave me an antihistamine and sent me home.",
        "On warfarin my INR was fine.",
        "My INR went up on warfarin after the clarithromycin.",
        "Warfarin made my nose bleed and I went to A&E but I wasn't admitted.",
        "I went to A&E after the nosebleed on warfarin but they didn't give me vitamin K.",
        "I take vitamin K and warfarin. I went to A&E for the bruises.",
        "If the bleeding on warfarin comes back go to A&E and they might give you vitamin K.",
        "I take warfarin and bruise easily. My dad was in hospital for a week last year.",
        "I take warfarin. My father was hospitalised years ago.",
        "My mum died last year. I take Lipitor and have muscle pain.",
        "My dad went to A&E years ago and they gave him vitamin K. I take warfarin and bruise.",
    ],
)
def test_emergency_visit_alone_normal_inr_denied_admission_or_relatives_history_is_not_serious(text: str):
    """GIVEN an A&E visit without rescue treatment, a normal or merely raised INR, a denied
    admission, treatment not given or only possible, or a relative (not the patient) in hospital
    WHEN assessed THEN the case is not serious."""
    facts = _assess(text)
    assert facts.serious is False
    assert facts.seriousness_criteria == []


@pytest.mark.parametrize(
    ("text", "criterion"),
    [
        ("My mum was put on warfarin and was admitted with a bleed.", "hospitalisation"),
        ("I gave my son Calpol and he was admitted.", "hospitalisation"),
        ("I took sertraline while breastfeeding. My baby was admitted with jitteriness.", "hospitalisation"),
        ("I took Wegovy while pregnant. My baby was born with a hole in the heart.", "congenital_anomaly"),
        ("I took valproate when pregnant. My son was born with a malformation.", "congenital_anomaly"),
    ],
)
def test_relative_who_is_or_may_be_the_patient_keeps_the_criterion(text: str, criterion: str):
    """GIVEN a relative who is the patient, a clause that names the drug with the relative, a baby
    exposed in the womb or through breast milk, or a birth defect WHEN assessed THEN it counts."""
    facts = _assess(text)
    assert [c.criterion for c in facts.seriousness_criteria] == [criterion]


def test_important_medical_event_is_serious_by_itself():
    """GIVEN a reaction of the important-medical-event vocabulary, no visit or treatment WHEN assessed
    THEN the case is medically important."""
    facts = _assess("Two weeks after starting naproxen I was vomiting blood.")
    assert [c.criterion for c in facts.seriousness_criteria] == ["medically_important"]


@pytest.mark.parametrize(
    ("text", "event"),
    [
        ("Since starting azathioprine I developed acute pancreatitis.", "pancreatitis"),
        ("The CT showed pneumonitis after three cycles of nivolumab.", "interstitial lung disease"),
        ("I ended up with acute kidney injury after the ibuprofen and lisinopril.", "renal failure"),
        ("My ECG showed a prolonged QT interval after I started citalopram.", "qt prolongation"),
        ("Ten days into methotrexate I had neutropenic fever.", "febrile neutropenia"),
    ],
)
def test_an_event_of_the_ema_important_medical_event_list_is_medically_important(text: str, event: str):
    """GIVEN one sentence naming an important medical event WHEN assessed THEN the case is serious,
    medically important with that sentence as evidence, and the summary names the event."""
    facts = _assess(text)
    assert event in facts.events
    assert [(c.criterion, c.evidence) for c in facts.seriousness_criteria] == [("medically_important", text)]
    assert f"Serious: medically important event ({event})." in facts.summary


@pytest.mark.parametrize(
    "term",
    [
        "pancreatitis",
        "interstitial lung disease",
        "agranulocytosis",
        "stevens-johnson syndrome",
        "toxic epidermal necrolysis",
        "anaphylaxis",
        "seizure",
        "qt prolongation",
        "torsade de pointes",
        "hepatic failure",
        "renal failure",
        "rhabdomyolysis",
        "pulmonary embolism",
        "thrombosis",
        "myocardial infarction",
        "stroke",
        "angioedema",
        "aplastic anaemia",
        "febrile neutropenia",
        "suicidal ideation",
    ],
)
def test_events_on_the_ema_important_medical_event_list_are_flagged_ime(term: str):
    assert "ime" in lexicon().phrases[(*(t.text for t in tokenize(term)),)].flags


@pytest.mark.parametrize("name", _treatment_names())
def test_every_listed_treatment_given_in_a_and_e_is_found(name: str):
    """GIVEN each name of emergency_treatments.tsv given in A&E WHEN criteria run THEN medically important."""
    sentences = _sentences("I went to A&E with the reaction.", f"They gave me {name} there.")
    assert urgent_treatment(sentences) == f"I went to A&E with the reaction. They gave me {name} there."
    assert [c.criterion for c in criteria(sentences, {})] == ["medically_important"]


def test_a_rescue_treatment_two_sentences_away_from_the_emergency_visit_does_not_count():
    """GIVEN the A&E visit and the treatment sentences apart WHEN criteria run THEN not serious."""
    sentences = _sentences("I went to A&E.", "I waited four hours.", "Later my GP gave me vitamin K.")
    assert criteria(sentences, {}) == []


def test_an_important_event_is_the_evidence_before_a_rescue_treatment():
    """GIVEN an important medical event and a rescue treatment WHEN criteria run THEN one criterion,
    the event's sentence as its evidence."""
    sentences = _sentences("I had anaphylaxis after the amoxicillin.", "In A&E they gave me adrenaline.")
    met = criteria(sentences, {"anaphylaxis": "I had anaphylaxis after the amoxicillin."})
    assert [(c.criterion, c.evidence) for c in met] == [
        ("medically_important", "I had anaphylaxis after the amoxicillin.")
    ]
