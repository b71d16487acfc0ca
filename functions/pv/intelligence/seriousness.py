"""ICH E2A seriousness: which criteria the text shows, each with its evidence sentence."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pv.models import SeriousnessCriterion

from .context import is_negated, is_uncertain
from .text import Token, fold

# Patterns run over folded (lowercase, accent-free) sentences.
_PATTERNS: dict[str, re.Pattern[str]] = {
    "death": re.compile(
        r"\b(?:died|dies|dying|death|passed away|deceased|fatal(?:ly)?|killed (?:him|her|them|my \w+))\b"
    ),
    "life_threatening": re.compile(
        r"\b(?:life[- ]threatening|could have died|nearly died|almost died|nearly killed|almost killed|"
        r"near death|(?:thought|said) (?:i|he|she|they) (?:was|were|would|might) (?:going to )?die|"
        r"intensive care|icu|resuscitat\w*|cpr|ventilator|intubated|crash team|cardiac arrest)\b"
    ),
    "hospitalisation": re.compile(
        r"\b(?:hospitali[sz](?:ed|ation)|admitted|intensive care|icu|admission|"
        r"(?:in|into|at) (?:the )?hospital|"
        r"kept (?:me|him|her|them) in|overnight (?:in|at) (?:the )?hospital|"
        r"kept (?:me|him|her|them)? ?overnight|"
        r"stayed (?:in )?(?:hospital|overnight)|inpatient|on the ward|prolonged (?:stay|admission)|"
        r"extended (?:my|his|her|the) (?:hospital )?stay|(?:longer|extra \w+) in hospital)\b"
    ),
    "disability": re.compile(
        r"\b(?:disabled|disability|disabling|permanent(?:ly)? (?:damage|disabled|blind|deaf|paralys\w+)|"
        r"paralys[ei]s|paralysed|paralyzed|can no longer (?:walk|work|see|hear)|can't walk|cannot walk|"
        r"unable to (?:walk|work)|lost (?:my|his|her|their) (?:sight|vision|hearing)|"
        r"(?:went|gone|is|am|now) (?:blind|deaf)|wheelchair|incapacit\w*|bedridden|bed-bound)\b"
    ),
    "congenital_anomaly": re.compile(
        r"\b(?:birth defects?|congenital|born with|malformations?|cleft (?:lip|palate)|spina bifida|"
        r"heart defect)\b"
    ),
}
ORDER = (
    "death",
    "life_threatening",
    "hospitalisation",
    "disability",
    "congenital_anomaly",
    "medically_important",
)


@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence with its folded tokens and the token spans that belong to someone else's history."""

    text: str
    tokens: list[Token]
    excluded: frozenset[int] = frozenset()  # tokens in family-member or past-history clauses


def criteria(sentences: list[Sentence], important_events: dict[str, str]) -> list[SeriousnessCriterion]:
    """Criteria met, in ICH order, the first affirmative sentence as evidence for each.

    `important_events` maps a medically important reaction to the sentence that reports it.
    A criterion phrase that is negated ("was not hospitalised"), hypothetical, or in a clause
    about a family member's or past history does not count.
    """
    found: dict[str, str] = {}
    for sentence in sentences:
        folded = fold(sentence.text)
        for name, pattern in _PATTERNS.items():
            if name in found:
                continue
            for match in pattern.finditer(folded):
                span = [
                    i
                    for i, t in enumerate(sentence.tokens)
                    if t.start < match.end() and t.end > match.start()
                ]
                if not span or any(i in sentence.excluded for i in span):
                    continue
                first, last = span[0], span[-1] + 1
                if is_negated(sentence.tokens, first, last) or is_uncertain(sentence.tokens, first, last):
                    continue
                found[name] = sentence.text
                break
    if important_events:
        found.setdefault("medically_important", next(iter(important_events.values())))
    return [SeriousnessCriterion(criterion=name, evidence=found[name]) for name in ORDER if name in found]
