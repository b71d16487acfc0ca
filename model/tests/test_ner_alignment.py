"""Span alignment (annotated strings -> sentence spans -> BIO labels) and BIO decoding to entities."""

from __future__ import annotations

import numpy as np
import pytest
from pv_model.data import AE, Example
from pv_model.ner import NER_LABEL2ID, NER_LABELS
from pv_model.ner.alignment import IGNORE, Span, align, align_example, bio_labels, find_occurrences
from pv_model.serving.code.ner_inference import bio_path, decode_entities, tag_entities
from pv_model.serving.tiny import packaged_minilm_dir


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(packaged_minilm_dir())


def test_a_string_occurring_twice_is_labelled_at_both_places() -> None:
    sentence = "Lithium toxicity recurred when lithium was restarted."

    aligned = align(sentence, drugs=("lithium",), effects=("toxicity",))

    assert aligned.spans == (Span(0, 7, "DRUG"), Span(8, 16, "AE"), Span(31, 38, "DRUG"))
    assert [sentence[s.start : s.end] for s in aligned.spans] == ["Lithium", "toxicity", "lithium"]


def test_occurrences_differing_only_in_case_are_all_found() -> None:
    assert find_occurrences("Lithium and LITHIUM and lithium", "lithium") == [(0, 7), (12, 19), (24, 31)]


def test_a_string_with_another_case_is_found_case_insensitively() -> None:
    aligned = align("HEPATITIS after Isoniazid.", drugs=("isoniazid",), effects=("hepatitis",))

    assert aligned.spans == (Span(0, 9, "AE"), Span(16, 25, "DRUG"))
    assert aligned.unmatched == ()


def test_an_occurrence_inside_a_longer_word_is_not_a_match_when_a_whole_word_exists() -> None:
    assert find_occurrences("Rashes, then a rash.", "rash") == [(15, 19)]


def test_a_substring_counts_only_when_no_whole_word_occurrence_exists() -> None:
    assert find_occurrences("Rashes appeared.", "rash") == [(0, 4)]


def test_a_string_not_in_the_sentence_is_reported_unmatched() -> None:
    aligned = align("Nausea after cisplatin.", drugs=("cisplatin", "carboplatin"), effects=("Nausea",))

    assert aligned.spans == (Span(0, 6, "AE"), Span(13, 22, "DRUG"))
    assert aligned.unmatched == ("carboplatin",)


def test_a_drug_nested_in_an_effect_gives_way_to_the_longer_span() -> None:
    sentence = "Theophylline poisoning; theophylline was stopped."

    aligned = align(sentence, drugs=("Theophylline", "theophylline"), effects=("Theophylline poisoning",))

    assert aligned.spans == (Span(0, 22, "AE"), Span(24, 36, "DRUG"))
    assert aligned.dropped == 1


def test_corpus_example_is_aligned_from_its_drugs_and_effects() -> None:
    example = Example(
        "1", "Intravenous azithromycin-induced ototoxicity.", AE, ("azithromycin",), ("ototoxicity",)
    )

    assert align_example(example).spans == (Span(12, 24, "DRUG"), Span(33, 44, "AE"))


def test_bio_labels_mark_every_sub_token_and_ignore_special_tokens(tokenizer) -> None:
    sentence = "Acute hepatotoxicity from methotrexate."
    encoded = tokenizer(sentence, return_offsets_mapping=True)
    offsets = encoded["offset_mapping"]
    spans = align(sentence, drugs=("methotrexate",), effects=("Acute hepatotoxicity",)).spans

    labels = bio_labels(offsets, spans)

    names = {v: k for k, v in NER_LABEL2ID.items()}
    tagged = [(sentence[s:e], names.get(label, "-")) for (s, e), label in zip(offsets, labels, strict=True)]
    assert tagged == [
        ("", "-"),
        ("Acute", "B-AE"),
        *[(piece, "I-AE") for piece in ("he", "pa", "to", "to", "xi", "city")],
        ("from", "O"),
        ("met", "B-DRUG"),
        *[(piece, "I-DRUG") for piece in ("hot", "re", "xa", "te")],
        (".", "O"),
        ("", "-"),
    ]
    assert labels[0] == labels[-1] == IGNORE


def test_decoding_turns_bio_tags_into_entities_with_character_offsets() -> None:
    text = "Severe rash after amoxicillin."
    offsets = [(0, 0), (0, 6), (7, 11), (12, 17), (18, 22), (22, 29), (29, 30), (0, 0)]
    tags = ["O", "B-AE", "I-AE", "O", "B-DRUG", "I-DRUG", "O", "O"]
    confidences = [1.0, 0.9, 0.7, 1.0, 0.6, 1.0, 1.0, 1.0]

    entities = decode_entities(text, offsets, tags, confidences)

    assert entities == [
        {"type": "AE", "text": "Severe rash", "start": 0, "end": 11, "score": pytest.approx(0.8)},
        {"type": "DRUG", "text": "amoxicillin", "start": 18, "end": 29, "score": pytest.approx(0.8)},
    ]


def test_tagging_takes_the_most_probable_valid_bio_sequence_not_each_tokens_argmax() -> None:
    # "acute renal failure": the first token leans to O (0.55), the others to I-AE; token by token
    # that is "renal failure", while the best valid sequence is B-AE I-AE I-AE (0.45 x 0.9 x 0.9).
    text = "acute renal failure"
    offsets = [(0, 0), (0, 5), (6, 11), (12, 19), (0, 0)]
    o, b_ae, i_ae = NER_LABELS.index("O"), NER_LABELS.index("B-AE"), NER_LABELS.index("I-AE")
    probabilities = np.full((5, len(NER_LABELS)), 0.0)
    probabilities[[0, 4], o] = 1.0
    probabilities[1, [o, b_ae]] = [0.55, 0.45]
    probabilities[2:4, [o, b_ae, i_ae]] = [0.05, 0.05, 0.9]

    entities = tag_entities(text, offsets, probabilities, list(NER_LABELS))

    assert [(e["type"], e["text"]) for e in entities] == [("AE", "acute renal failure")]
    assert entities[0]["score"] == pytest.approx((0.45 + 0.9 + 0.9) / 3)


def test_an_inside_tag_never_follows_another_type_in_the_tagged_sequence() -> None:
    labels = list(NER_LABELS)
    probabilities = np.full((3, len(labels)), 0.01)
    for token, tag in enumerate(("B-DRUG", "I-AE", "I-AE")):
        probabilities[token, labels.index(tag)] = 0.9

    path = [labels[t] for t in bio_path(probabilities, labels)]

    assert path == ["B-DRUG", "B-AE", "I-AE"]
    assert bio_path(probabilities[:0], labels) == []


def test_decoding_starts_an_entity_at_a_stray_inside_tag_and_splits_on_a_type_change() -> None:
    text = "rash, nausea aspirin"
    offsets = [(0, 4), (6, 12), (13, 20)]

    entities = decode_entities(text, offsets, ["I-AE", "B-AE", "I-DRUG"], [0.5, 0.5, 0.5])

    assert [(e["type"], e["text"]) for e in entities] == [
        ("AE", "rash"),
        ("AE", "nausea"),
        ("DRUG", "aspirin"),
    ]


def test_event_pieces_split_by_one_space_or_hyphen_are_one_event_while_drugs_stay_apart() -> None:
    text = "sinoatrial block, T-cell lymphocytopenia and magnesium aluminum"
    offsets = [(0, 10), (11, 16), (16, 17), (18, 19), (19, 20), (20, 24), (25, 40), (41, 44)]
    offsets += [(45, 54), (55, 63)]
    tags = ["B-AE", "B-AE", "O", "B-AE", "B-AE", "I-AE", "B-AE", "O", "B-DRUG", "B-DRUG"]

    entities = decode_entities(text, offsets, tags, [0.8] * len(tags))

    assert [(e["type"], e["text"]) for e in entities] == [
        ("AE", "sinoatrial block"),
        ("AE", "T-cell lymphocytopenia"),
        ("DRUG", "magnesium"),
        ("DRUG", "aluminum"),
    ]


def test_decoding_widens_an_entity_that_cuts_a_word_to_the_whole_word() -> None:
    text = "Given methotrexate."
    offsets = [(0, 5), (6, 10), (10, 13), (13, 18), (18, 19)]

    entities = decode_entities(text, offsets, ["O", "O", "B-DRUG", "O", "O"], [1.0, 1.0, 0.4, 1.0, 1.0])

    assert entities == [{"type": "DRUG", "text": "methotrexate", "start": 6, "end": 18, "score": 0.4}]


def test_decoding_merges_pieces_of_one_word_tagged_as_two_entities() -> None:
    text = "methotrexate"
    offsets = [(0, 4), (4, 8), (8, 12)]

    entities = decode_entities(text, offsets, ["B-DRUG", "O", "B-DRUG"], [0.2, 1.0, 0.4])

    assert entities == [
        {"type": "DRUG", "text": "methotrexate", "start": 0, "end": 12, "score": pytest.approx(0.3)}
    ]


def test_pieces_of_one_word_with_different_types_become_one_entity_of_the_stronger_type() -> None:
    text = "amoxicillin rash"
    offsets = [(0, 2), (2, 5), (5, 8), (8, 11), (12, 16)]
    tags = ["B-AE", "B-DRUG", "I-DRUG", "B-AE", "B-AE"]

    entities = decode_entities(text, offsets, tags, [0.3, 0.9, 0.9, 0.3, 0.8])

    assert [(e["type"], e["text"], e["start"], e["end"]) for e in entities] == [
        ("DRUG", "amoxicillin", 0, 11),
        ("AE", "rash", 12, 16),
    ]
    assert entities[0]["score"] == pytest.approx(0.6)
