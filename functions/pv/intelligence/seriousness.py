"""ICH E2A seriousness: which criteria the text shows, each with its evidence sentence.

"Other medically important" (ICH E2A: an event that may jeopardise the patient or need an
intervention to prevent one of the other outcomes) is decided two ways, never by an emergency
visit alone (an A&E visit without admission is not hospitalisation, nor serious by itself):

- a reaction that is medically important by itself: events flagged `ime` in events.tsv
  (anaphylaxis, seizure, GI haemorrhage, agranulocytosis ...), passed in by the caller;
- urgent treatment to reverse or rescue a reaction: a treatment of emergency_treatments.tsv
  (an antidote or reversal agent, adrenaline, a transfusion ...) given in emergency care (A&E,
  emergency room, ambulance, paramedics) in the same or the next sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import get_args

from pv.case_models import Criterion, SeriousnessCriterion

from .context import ContextRules, context_rules
from .lexicon import lexicon
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
# Emergency care: where an urgent treatment is given. "the er" / "the ed", not a bare "er" (a filler).
_EMERGENCY = re.compile(
    r"\b(?:a ?& ?e|a and e|accident (?:and|&) emergency|emergency (?:room|department|dept|unit|services?)|"
    r"the (?:er|ed)|to er|casualty|urgent care|ambulance|paramedics?|"
    r"(?:called|rang|phoned|dialled|dialed) (?:999|911|112))\b"
)
# A baby exposed in the womb or through breast milk is the patient of a parent-child report.
_EXPOSED = frozenset({"baby"})

ORDER: tuple[Criterion, ...] = get_args(Criterion)


@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence with its folded tokens and the token spans that belong to someone else's history
    (and its folded text, when the caller has it)."""

    text: str
    tokens: list[Token]
    excluded: frozenset[int] = frozenset()  # tokens in family-member or past-history clauses
    folded: str | None = None

    @property
    def folded_text(self) -> str:
        return fold(self.text) if self.folded is None else self.folded


def criteria(
    sentences: list[Sentence],
    important_events: dict[str, str],
    *,
    patient_relative: str | None = None,
    rules: ContextRules | None = None,
) -> list[SeriousnessCriterion]:
    """Criteria met, in ICH order, the first affirmative sentence as evidence for each.

    `important_events` maps a medically important reaction to the sentence that reports it;
    `patient_relative` is the family member who is the patient ("mother"), None when the patient
    is the reporter or unknown. A criterion phrase that is negated ("was not hospitalised"),
    hypothetical, in a clause about a family member's or past history, or about a relative who is
    not the patient ("my father was hospitalised years ago") does not count. `rules`: the context
    rules of the document's language (English by default).
    """
    rules = rules or context_rules()
    found: dict[str, str] = {}
    for sentence in sentences:
        folded = sentence.folded_text
        for name, pattern in _PATTERNS.items():
            # a congenital anomaly is the exposed child's: never set aside as a relative's
            own = name == "congenital_anomaly"
            if name not in found and any(
                _affirmed(sentence, m.start(), m.end(), patient_relative, rules, any_relative=own)
                for m in pattern.finditer(folded)
            ):
                found[name] = sentence.text
    if important_events:
        found.setdefault("medically_important", next(iter(important_events.values())))
    if "medically_important" not in found:
        urgent = urgent_treatment(sentences, patient_relative=patient_relative, rules=rules)
        if urgent is not None:
            found["medically_important"] = urgent
    return [SeriousnessCriterion(criterion=name, evidence=found[name]) for name in ORDER if name in found]


def urgent_treatment(
    sentences: list[Sentence], *, patient_relative: str | None = None, rules: ContextRules | None = None
) -> str | None:
    """The evidence of a rescue treatment given in emergency care, or None.

    Emergency care (A&E, emergency room, ambulance, paramedics) in one sentence and, in it or the
    sentence before or after, a treatment of emergency_treatments.tsv with a word saying it was
    given ("they gave me vitamin K"). Both affirmed, about the patient. The evidence is the
    sentence, or the two sentences in document order.
    """
    rules = rules or context_rules()
    for i, sentence in enumerate(sentences):
        folded = sentence.folded_text
        if not any(
            _affirmed(sentence, m.start(), m.end(), patient_relative, rules)
            for m in _EMERGENCY.finditer(folded)
        ):
            continue
        for j in (i, i + 1, i - 1):
            if 0 <= j < len(sentences) and _treatment_given(sentences[j], patient_relative, rules):
                return " ".join(s.text for s in sentences[min(i, j) : max(i, j) + 1])
    return None


def _treatment_given(sentence: Sentence, patient_relative: str | None, rules: ContextRules) -> bool:
    """A treatment of emergency_treatments.tsv with a word saying it was given, from 4 words
    before it to 3 after it."""
    for match in _treatments().finditer(sentence.folded_text):
        span = _span(sentence.tokens, match.start(), match.end())
        if not span or not _affirmed(sentence, match.start(), match.end(), patient_relative, rules):
            continue
        start, end = rules.clause_bounds(sentence.tokens, span[0], span[-1] + 1)
        window = sentence.tokens[max(start, span[0] - 4) : min(end, span[-1] + 4)]
        if any(t.text in rules.cues.treatment_given for t in window):
            return True
    return False


def _affirmed(
    sentence: Sentence,
    start: int,
    end: int,
    patient_relative: str | None,
    rules: ContextRules,
    *,
    any_relative: bool = False,
) -> bool:
    """The phrase at characters [start, end) is said of the patient (of anyone with `any_relative`),
    as a fact."""
    span = _span(sentence.tokens, start, end)
    if not span or any(i in sentence.excluded for i in span):
        return False
    first, last = span[0], span[-1] + 1
    if rules.is_negated(sentence.tokens, first, last) or rules.is_uncertain(sentence.tokens, first, last):
        return False
    return any_relative or not _about_other_relative(sentence.tokens, first, last, patient_relative, rules)


def _about_other_relative(
    tokens: list[Token], first: int, last: int, patient_relative: str | None, rules: ContextRules
) -> bool:
    """The clause is about a relative ("my dad was in hospital") who is not the patient.

    Not when the reporter comes back after the relative ("my husband took me to A&E"), nor when
    the clause names a drug ("I gave my son Calpol and he was admitted": the relative may well be
    the patient whom the patient finder missed; a missed serious case costs more than a review).
    """
    cues = rules.cues
    start, end = rules.clause_bounds(tokens, first, last)
    words = [t.text for t in tokens[start:first]]
    for k in range(len(words) - 1, 0, -1):
        if words[k] in cues.relatives and words[k - 1] in cues.possessives:
            relative = cues.relatives[words[k]]
            if relative in (patient_relative, *_EXPOSED):
                return False
            if any(w in cues.reporter_words for w in words[k + 1 :]):
                return False
            return not lexicon().match(tokens[start:end], frozenset({"DRUG"}))
    return False


def _span(tokens: list[Token], start: int, end: int) -> list[int]:
    return [i for i, t in enumerate(tokens) if t.start < end and t.end > start]


@cache
def _treatments() -> re.Pattern[str]:
    """emergency_treatments.tsv as one pattern over folded text, longest name first."""
    text = resources.files("pv.resources").joinpath("emergency_treatments.tsv").read_text(encoding="utf-8")
    names: set[str] = set()
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            row = line.split("\t")
            names.update(
                n.strip() for n in [row[0], *(row[1].split("|") if len(row) > 1 else [])] if n.strip()
            )
    alternatives = "|".join(re.escape(fold(n)) for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"\b(?:{alternatives})\b")
