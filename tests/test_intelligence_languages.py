"""The rules read Spanish, French, German and Portuguese: each language's lay lexicon
(events.<language>.tsv), context cues (context_cues.tsv) and judgement cues (judgement_cues.tsv)
decide as the English ones do. The documents are written for these tests, not taken from the lay
corpus."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pv.intelligence import LexiconExtractor, adverse_event_sentences, assess_case
from pv.intelligence.assess import document_judgement
from pv.intelligence.language import detect_language
from pv.intelligence.reading import read_document
from pv.intelligence.text import tokenize
from pv.models import Channel, SourceDocument, TextUnit


def _post(text: str) -> SourceDocument:
    return SourceDocument(
        document_id="e" * 64,
        channel=Channel.SOCIAL,
        source_key="social/post.jsonl",
        received_at=datetime(2025, 3, 1, 9, 30, tzinfo=UTC),
        units=[TextUnit(kind="body", text=text)],
        metadata={"author": "lector"},
    )


@pytest.mark.parametrize(
    ("language", "text", "drugs", "events"),
    [
        (
            "es",
            "Desde que empecé con Xarelto me salen moretones por todo el cuerpo.",
            ["rivaroxaban"],
            ["bruising"],
        ),
        (
            "fr",
            "J'ai pris de l'Advil hier et maintenant j'ai des plaques rouges qui grattent.",
            ["ibuprofen"],
            ["rash", "pruritus"],
        ),
        ("de", "Seit ich Ramipril nehme, habe ich einen trockenen Reizhusten.", ["ramipril"], ["cough"]),
        (
            "pt",
            "Comecei a tomar sertralina e estou com muita tontura e boca seca.",
            ["sertraline"],
            ["dizziness", "dry mouth"],
        ),
    ],
)
def test_a_reaction_reported_in_another_language_is_flagged_and_read(
    language: str, text: str, drugs: list[str], events: list[str]
) -> None:
    """GIVEN a post reporting a reaction in Spanish, French, German or Portuguese WHEN screened and
    assessed THEN the rules flag it and the case has the drug and the events, in English terms."""
    document = _post(text)
    assert adverse_event_sentences(document) == [text]
    facts = assess_case(document, [])
    assert (facts.language, facts.suspect_drugs, facts.events) == (language, drugs, events)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("Tomo sertralina desde hace un año, sin náuseas ni insomnio.", "negated"),
        ("Nehme seit zwei Jahren Ramipril. Kein Husten, keine Schwindel, alles gut.", "negated"),
        ("Est-ce que le Doliprane peut donner des boutons ?", "hypothetical"),
        ("O médico receitou Roacutan mas ainda não comecei. Tenho medo de queda de cabelo.", "hypothetical"),
        ("Die Kopfschmerzen hatte ich schon vor dem Ibuprofen.", "before the drug"),
        ("Mi madre tuvo una trombosis y yo tomo Yasmin sin problemas.", "a relative's history"),
    ],
)
def test_what_no_reaction_of_the_patient_is_not_flagged(text: str, why: str) -> None:
    """GIVEN a post that names a drug and an event that did not happen to the patient after it
    (denied, asked about, older than the drug, a relative's) WHEN screened THEN it is not flagged."""
    assert adverse_event_sentences(_post(text)) == [], why


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("Les vertiges étaient dus à une otite, pas au Coversyl.", "other_cause"),
        (
            "Meine Augen jucken, das liegt am Pollenflug, nicht an der Tablette. Ich nehme Cetirizin.",
            "other_cause",
        ),
        (
            "Quiero corregir mi correo anterior: no fue el omeprazol, las náuseas eran del estrés.",
            "retraction",
        ),
        (
            "A bula lista dor de cabeça como efeito comum. Nunca tomei Dipirona, ainda não tomei nenhuma.",
            "not_taken",
        ),
    ],
)
def test_the_document_judgement_reads_the_documents_language(text: str, verdict: str) -> None:
    """GIVEN a document whose other sentences put the event down to something else, take it back,
    or say the drug was not taken WHEN judged THEN the verdict is that language's cue's, and the
    rules do not flag it."""
    document = _post(text)
    assert document_judgement(read_document(document)) == verdict
    assert adverse_event_sentences(document) == []


@pytest.mark.parametrize(
    ("text", "patient"),
    [
        ("A mi hija le dieron amoxicilina y le salieron ronchas por todo el cuerpo.", "daughter"),
        ("Unser Sohn nimmt Elvanse und hat Bauchweh.", "son"),
        ("Minha mãe tomou dipirona e ficou com o rosto inchado.", "mother"),
        ("Je prends du Doliprane et j'ai mal au ventre.", "reporter"),
    ],
)
def test_the_patient_is_the_relative_who_took_the_drug(text: str, patient: str) -> None:
    """GIVEN a report about a relative who took the drug, in another language WHEN assessed THEN
    the relative is the patient and their reaction is the case's event."""
    facts = assess_case(_post(text), [])
    assert facts.patient == patient
    assert facts.events


def test_elided_french_articles_are_words_of_their_own():
    """GIVEN French elisions WHEN tokenized THEN the article or pronoun is split from the word, so
    "l'Advil" is the drug Advil; English contractions stay whole."""
    assert [t.text for t in tokenize("J'ai pris l'Advil, it's fine, don't")] == [
        "j'",
        "ai",
        "pris",
        "l'",
        "advil",
        ",",
        "it's",
        "fine",
        ",",
        "don't",
    ]


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Unser Sohn nimmt Elvanse und hat Bauchweh.", "de"),
        ("Tomo metformina y tengo diarrea.", "es"),
        ("Je prends du Doliprane et j'ai mal au ventre.", "fr"),
        ("Tomei dipirona e fiquei com coceira.", "pt"),
        ("I took the pill and now I have a headache.", "en"),
    ],
)
def test_short_texts_are_told_apart_by_language(text: str, language: str) -> None:
    assert detect_language(text) == language


@pytest.mark.parametrize(
    ("text", "event"),
    [
        ("For: acne. Taking lymecycline three months, skin better. 6/10", "acne"),
        ("Omeprazole 20mg at bedtime for reflux. Works well.", "dyspepsia"),
    ],
)
def test_a_reviews_condition_is_its_indication(text: str, event: str) -> None:
    """GIVEN a review that names the condition after "For:" or after a dose WHEN read THEN the
    condition is the drug's indication, not a reaction (English reviews; the rule has no language)."""
    facts = assess_case(_post(text), [])
    assert event not in facts.events
    assert "indication" in [m.role for m in facts.mentions if m.normalized == event]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        (
            "Her potassium came back 6.4 and sodium was 121.",
            [("potassium came back 6.4", "hyperkalaemia"), ("sodium was 121", "hyponatraemia")],
        ),
        ("Pulse of 38, BP 70/40.", [("Pulse of 38", "bradycardia"), ("BP 70", "hypotension")]),
        ("Potassium has gone from 4.8 to 5.9.", [("Potassium has gone from 4.8 to 5.9", "hyperkalaemia")]),
        ("Temperature 38.9 last night.", [("Temperature 38.9", "fever")]),
        (
            "I gained 10kg and put on two stone since.",
            [("gained 10kg", "weight increased"), ("put on two stone", "weight increased")],
        ),
        ("My blood pressure is normally 120 and my potassium 4.2.", []),
        ("BP was 160, now 125.", []),
        ("I'm up 3 times a night.", []),
    ],
)
def test_a_measured_value_past_its_threshold_is_an_event(text: str, found: list[tuple[str, str]]) -> None:
    """GIVEN a measure and its value (measures.tsv) WHEN extracted THEN a value in the measure's
    range is its event, a normal value, an earlier one or a count without its unit is none."""
    [entities] = LexiconExtractor().extract([text])
    assert [(e.text, e.normalized) for e in entities if e.type == "AE"] == found
