"""From the corpus's annotated strings to character spans in the sentence, and to BIO token labels.

The ADE corpus gives each drug and effect as a string with document-level offsets, which cannot
be mapped to the sentence. So the strings are searched in the sentence:

- every occurrence is labelled (a model cannot tell the annotated "lithium" from the other one
  in the same sentence, so labelling only one would teach it that the second is not a drug);
- matching ignores case: "Lithium" opening a sentence and "lithium" later are the same drug, and
  the packaged base model is uncased, so it could not learn a case-sensitive choice anyway;
- an occurrence must stand on word boundaries ("rash" is not found inside "rashes"); only when
  no whole-word occurrence exists does a substring match count;
- BIO cannot nest, so overlapping spans keep the longer one (an AE "theophylline poisoning" wins
  over the DRUG "theophylline" inside it); ties go to AE.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pv_model.data import Example
from pv_model.ner import NER_LABEL2ID

IGNORE = -100  # the label the loss and the metrics skip (special tokens)


@dataclass(frozen=True, order=True)
class Span:
    """A typed character span `[start, end)` of one sentence."""

    start: int
    end: int
    type: str


@dataclass(frozen=True)
class AlignedSentence:
    """A sentence with its non-overlapping gold spans, and what could not be kept."""

    text: str
    spans: tuple[Span, ...]
    unmatched: tuple[str, ...] = ()  # annotated strings not found in the sentence
    dropped: int = 0  # spans removed because they overlapped a longer one


def _bounded(text: str, start: int, end: int) -> bool:
    before_ok = start == 0 or not (text[start - 1].isalnum() and text[start].isalnum())
    after_ok = end == len(text) or not (text[end - 1].isalnum() and text[end].isalnum())
    return before_ok and after_ok


def find_occurrences(sentence: str, needle: str) -> list[tuple[int, int]]:
    """Every non-overlapping, case-insensitive occurrence of `needle` in `sentence` as (start, end).

    Whole-word occurrences if there are any, else substring ones.
    """
    needle = needle.strip()
    if not needle:
        return []
    found = [(m.start(), m.end()) for m in re.finditer(re.escape(needle), sentence, re.IGNORECASE)]
    bounded = [(s, e) for s, e in found if _bounded(sentence, s, e)]
    return bounded or found


def align(sentence: str, drugs: tuple[str, ...] = (), effects: tuple[str, ...] = ()) -> AlignedSentence:
    """Gold spans of a sentence from its annotated drug and effect strings."""
    candidates: set[Span] = set()
    unmatched = []
    for kind, strings in (("AE", effects), ("DRUG", drugs)):
        for string in strings:
            found = find_occurrences(sentence, string)
            if not found:
                unmatched.append(string)
            candidates.update(Span(s, e, kind) for s, e in found)
    kept: list[Span] = []
    for span in sorted(candidates, key=lambda s: (-(s.end - s.start), s.type != "AE", s.start)):
        if all(span.end <= other.start or span.start >= other.end for other in kept):
            kept.append(span)
    return AlignedSentence(sentence, tuple(sorted(kept)), tuple(unmatched), len(candidates) - len(kept))


def align_example(example: Example) -> AlignedSentence:
    """`align` over a corpus example's annotated drugs and effects."""
    return align(example.text, example.drugs, example.effects)


def bio_labels(offsets: list[tuple[int, int]], spans: tuple[Span, ...] | list[Span]) -> list[int]:
    """BIO label ids per token from tokenizer `offsets` (special tokens, (0, 0): IGNORE).

    Every sub-token is labelled: the first token touching a span gets `B-`, the rest `I-`, so
    decoding works on tokens alone and needs no word ids.
    """
    labels = [IGNORE if start == end else NER_LABEL2ID["O"] for start, end in offsets]
    for span in spans:
        inside = [i for i, (s, e) in enumerate(offsets) if s != e and s < span.end and e > span.start]
        for position, index in enumerate(inside):
            labels[index] = NER_LABEL2ID[("B-" if position == 0 else "I-") + span.type]
    return labels
