"""Context of each mention: negation, uncertainty, indication, history, family member.

NegEx-style: trigger words before (or a few after) a mention, with a scope that ends at clause
boundaries. Rules read folded tokens of one sentence; they know nothing of the extractor.

The cue words are data (resources/context_cues.tsv), by language: `context_rules(language)` reads
with the English cues and those of the document's language (es, fr, de, pt), so a Spanish "no",
"sin" or "para" counts as the English "no", "without" or "for" does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from functools import cache
from importlib import resources
from typing import Literal

from .text import Patterns, Phrases, Token, fold, has_phrase, starts_with, tokenize

Role = Literal["suspect", "indication", "history", "family", "treatment", "concomitant", "other"]

# Punctuation ends a clause in every language; the words that do are cues (clause_words).
_CLAUSE_PUNCTUATION = frozenset({";", ".", "!", "?", ":"})
_NEGATION_WINDOW = 6
# A dose as written ("20mg", "2.5mg", "100mcg"): the drug being taken.
_DOSE = re.compile(r"\d+(?:[.,]\d+)?(?:mg|mcg|ug|µg|ml|g|iu|units?)")
_GIVING_WINDOW = 4
# A baby's reactions are never a family member's history: a baby is exposed in the womb, through
# breast milk or given the drug ("I took sertraline while breastfeeding. My baby was admitted").
EXPOSED_RELATIVES = frozenset({"baby"})
# Outcomes that belong to a baby exposed in the womb: never a family member's unrelated history.
PREGNANCY_OUTCOMES = frozenset({"congenital anomaly", "miscarriage", "stillbirth", "premature birth"})


@dataclass(frozen=True)
class Cues:
    """The cue words of the context rules for one language (context_cues.tsv, which says what each
    is for). Fields named `*_phrases` hold word sequences, `*_patterns` folded phrases found in the
    text as whole words ("#" a number), `relatives` maps a word to the relative it names, every
    other field is a set of words."""

    clause_words: frozenset[str]
    scope_ends: frozenset[str]
    comma_continuations: frozenset[str]
    negations: frozenset[str]
    denied_when_followed: frozenset[str]
    nearly: frozenset[str]
    negation_phrases: Phrases
    pseudo_negation_phrases: Phrases
    post_negation_phrases: Phrases
    no_effect_negations: frozenset[str]
    no_effect_fillers: frozenset[str]
    helping: frozenset[str]
    doing: frozenset[str]
    nothing: frozenset[str]
    no_effect_lead: frozenset[str]
    hypothetical: frozenset[str]
    others: frozenset[str]
    question_verbs: frozenset[str]
    definite: frozenset[str]
    risk_after: frozenset[str]
    hypothetical_phrases: Phrases
    experienced: frozenset[str]
    purpose: frozenset[str]
    infinitive: frozenset[str]
    indication: frozenset[str]
    relieving: frozenset[str]
    indication_phrases: Phrases
    did: frozenset[str]
    taking: frozenset[str]
    indication_after: frozenset[str]
    reaction_cues: frozenset[str]
    strong_history_phrases: Phrases
    weak_history_phrases: Phrases
    possessives: frozenset[str]
    first_person: frozenset[str]
    reporter_words: frozenset[str]
    family_history_phrases: Phrases
    relatives: dict[str, str]
    female_relatives: frozenset[str]
    male_relatives: frozenset[str]
    child_age_patterns: Patterns
    being_patterns: Patterns
    relative_taking_patterns: Patterns
    giving_others_patterns: Patterns
    calling_about_phrases: Phrases
    self_description_phrases: Phrases
    self_description_articles: frozenset[str]
    introduction_ends: frozenset[str]
    greetings: frozenset[str]
    as_phrases: Phrases
    as_article_phrases: Phrases
    physician_phrases: Phrases
    pharmacist_phrases: Phrases
    other_professional_phrases: Phrases
    own_pharmacy_phrases: Phrases
    physician_titles: frozenset[str]
    carer_phrases: Phrases
    caring_phrases: Phrases
    own_patient_phrases: Phrases
    cared_for_phrases: Phrases
    third_persons: frozenset[str]
    self_taking_phrases: Phrases
    female_patterns: Patterns
    male_patterns: Patterns
    age_patterns: Patterns
    duration_openers: frozenset[str]
    phrase_openers: frozenset[str]
    phrase_joiners: frozenset[str]
    subjects: frozenset[str]
    phrase_verbs: frozenset[str]
    listing: frozenset[str]
    giving: frozenset[str]
    given_after: frozenset[str]
    treating: frozenset[str]
    determiners: frozenset[str]
    pronouns: frozenset[str]
    durations: frozenset[str]
    replacing: frozenset[str]
    emergency_care_phrases: Phrases
    cause_before: frozenset[str]
    reacting: frozenset[str]
    cause_after: frozenset[str]
    the_one: frozenset[str]
    this_that: frozenset[str]
    relief: frozenset[str]
    object_fillers: frozenset[str]
    not_purposes: frozenset[str]
    relative_pronouns: frozenset[str]
    via: frozenset[str]
    causers: frozenset[str]
    causing: frozenset[str]
    auxiliaries: frozenset[str]
    back_reference_phrases: Phrases
    skipped_openers: frozenset[str]
    starting: frozenset[str]
    worsening: frozenset[str]
    reason_words: frozenset[str]
    on_drug: frozenset[str]
    put_down_words: frozenset[str]
    consequence: frozenset[str]
    near_determiners: frozenset[str]
    treatment_given: frozenset[str]
    summary_starting: frozenset[str]


LANGUAGES = frozenset({"en", "es", "fr", "de", "pt"})
# Cues with other languages' rows only: English patients and third persons are read by
# patients.py's regular expressions, and English says "as a nurse" (as_article_phrases), never
# "as nurse".
_NO_ENGLISH_ROW = frozenset(
    {
        "as_phrases",
        "own_patient_phrases",
        "cared_for_phrases",
        "third_persons",
        "self_taking_phrases",
    }
)


@cache
def _cue_rows() -> dict[str, dict[str, list[str]]]:
    """cue name -> language -> its values (folded), from context_cues.tsv."""
    text = resources.files("pv.resources").joinpath("context_cues.tsv").read_text(encoding="utf-8")
    rows: dict[str, dict[str, list[str]]] = {}
    names = {f.name for f in fields(Cues)}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        name, language, value = line.split("\t", 2)
        if name not in names or language not in LANGUAGES:
            raise ValueError(f"context_cues.tsv line {number}: unknown cue {name!r} or language {language!r}")
        values = value.split("|") if name.endswith(("_phrases", "_patterns")) else value.split()
        found = rows.setdefault(name, {}).setdefault(language, [])
        found.extend(fold(v.strip()) for v in values if v.strip())
    missing = names - {n for n, by in rows.items() if "en" in by} - _NO_ENGLISH_ROW
    if missing:
        raise ValueError(f"context_cues.tsv has no English row for {sorted(missing)}")
    return rows


def _words_of(phrase: str) -> tuple[str, ...]:
    return tuple(t.text for t in tokenize(phrase))


@cache
def cues(language: str = "en") -> Cues:
    """The English cues, with those of `language` added (unknown languages: English alone)."""
    rows = _cue_rows()
    chosen = ("en", language) if language in LANGUAGES and language != "en" else ("en",)
    values: dict[str, object] = {}
    for f in fields(Cues):
        found = [v for lang in chosen for v in rows.get(f.name, {}).get(lang, [])]
        # "-no" in a language's row takes the English word away (Portuguese "no" is "in the")
        removed = {v[1:] for v in found if v.startswith("-") and len(v) > 1}
        found = [v for v in found if v not in removed and not (v.startswith("-") and len(v) > 1)]
        if f.name == "relatives":
            # "mum=mother" names the mother; "mother" alone names itself
            values[f.name] = {
                word: relative or word for word, _, relative in (v.partition("=") for v in found)
            }
        elif f.name.endswith("_phrases"):
            values[f.name] = tuple(dict.fromkeys(_words_of(v) for v in found))
        elif f.name.endswith("_patterns"):
            values[f.name] = tuple(dict.fromkeys(found))
        else:
            values[f.name] = frozenset(found)
    return Cues(**values)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Context:
    """What the words around a mention say about it."""

    negated: bool = False
    uncertain: bool = False
    role: Role = "suspect"
    relative: str | None = None  # the family member the clause is about, if any


def _words(tokens: list[Token], start: int, end: int) -> list[str]:
    return [t.text for t in tokens[start:end]]


@cache
def context_rules(language: str = "en") -> ContextRules:
    """The context rules reading with the cues of `language` (and English's), one per language."""
    return ContextRules(cues(language))


class ContextRules:
    """The predicates of the context rules over the folded tokens of one sentence, with the cue
    words of one language (`cues`)."""

    def __init__(self, cues: Cues) -> None:
        self.cues = cues
        self._breaks = _CLAUSE_PUNCTUATION | cues.clause_words

    def clause_bounds(self, tokens: list[Token], first: int, last: int) -> tuple[int, int]:
        """Token range [start, end) of the clause holding tokens [first, last)."""
        start = first
        while start > 0 and tokens[start - 1].text not in self._breaks:
            start -= 1
        end = last
        while end < len(tokens) and tokens[end].text not in self._breaks:
            end += 1
        return start, end

    def opens_phrase(self, tokens: list[Token], i: int) -> bool:
        """Token i starts a new verb phrase.

        A verb phrase ends where another begins: at a word that opens one ("so", "then", "now",
        "which", ...), or at "and", "or" or a comma followed by a subject or a verb ("... and took
        Piriton for it", "for diabetes and get diarrhoea"), or by a possessive with a verb right
        after it ("for a cold and my heart was pounding"), not by a noun listed with the one before
        ("for my headaches and nausea", "metformin and gliclazide for my diabetes").
        """
        c = self.cues
        word = tokens[i].text
        if word in c.phrase_openers:
            return True
        if (word in c.phrase_joiners or word == ",") and i + 1 < len(tokens):
            following = tokens[i + 1].text
            if following in c.possessives:  # "for a cold and my heart was pounding"
                return any(t.text in c.phrase_verbs for t in tokens[i + 2 : i + 5])
            return following in c.subjects or following in c.phrase_verbs or following in c.phrase_openers
        return False

    def phrase_bounds(self, tokens: list[Token], first: int, last: int) -> tuple[int, int]:
        """Token range [start, end) of the verb phrase holding tokens [first, last): its clause, cut
        where another phrase opens (the opening word belongs to the later phrase)."""
        clause_start, clause_end = self.clause_bounds(tokens, first, last)
        start = max(
            (i for i in range(clause_start + 1, first) if self.opens_phrase(tokens, i)), default=clause_start
        )
        end = next((i for i in range(last, clause_end) if self.opens_phrase(tokens, i)), clause_end)
        return start, end

    def is_negated(self, tokens: list[Token], first: int, last: int) -> bool:
        """A negation trigger before the span within its scope, or a post-negation just after it."""
        c = self.cues
        clause_start, clause_end = self.clause_bounds(tokens, first, last)
        i = first - 1
        seen = 0
        while i >= clause_start and seen < _NEGATION_WINDOW:
            word = tokens[i].text
            if (
                word in c.scope_ends
                or (word == "," and i + 1 < first and tokens[i + 1].text in c.comma_continuations)
                or (word in c.phrase_joiners and i + 1 < first and tokens[i + 1].text in c.subjects)
            ):
                break  # "zero sex drive and I yawn nonstop": the yawning is not denied
            following = _words(tokens, i, min(i + 4, first))
            if (
                word in c.negations
                and not starts_with(following, c.pseudo_negation_phrases)
                and not self._not_helping(following)
            ):
                return True
            if starts_with(following, c.negation_phrases):
                return True
            if tokens[i].is_word:
                seen += 1
            i -= 1
        after = _words(tokens, last, min(last + 3, clause_end))
        if tokens[first].text in c.negations and after and after[0] in c.denied_when_followed:
            return True  # "no sleep problems": the phrase "no sleep" is denied as a whole
        return starts_with(after, c.post_negation_phrases)

    def _not_helping(self, words: list[str]) -> bool:
        """The words open with a negation of helping or working ("isn't helping", "doesn't really
        work", "not touching")."""
        return self._no_effect(words, self.cues.helping) > 0

    def _no_effect(self, words: list[str], verbs: frozenset[str] | None = None) -> int:
        """How many words open by saying something has no effect (0: none): a negation of one of
        `verbs` ("isn't helping", "doesn't really work", "isn't doing much") or "does nothing"."""
        c = self.cues
        verbs = c.helping | c.doing if verbs is None else verbs
        if len(words) > 1 and words[0] in c.doing and words[1] in c.nothing and words[0] in verbs:
            return 2
        if not words or words[0] not in c.no_effect_negations:
            return 0
        i = 1
        while i < len(words) and words[i] in c.no_effect_fillers:
            i += 1
        return i + 1 if i < len(words) and words[i] in verbs else 0

    def _no_effect_span(self, tokens: list[Token], last: int) -> tuple[int, int] | None:
        """The tokens right after the drug ending at `last`, in its clause, that say it has no
        effect ("paracetamol isn't doing much", "is not helping", "doesn't really work")."""
        end = self.clause_bounds(tokens, max(last - 1, 0), last)[1]
        words = _words(tokens, last, min(last + 8, end))
        i = 0
        lead = self.cues.no_effect_lead
        while i < 3 and i < len(words) and words[i] in lead and not self._no_effect(words[i:]):
            i += 1
        length = self._no_effect(words[i:])
        return (last + i, last + i + length) if length else None

    def not_helped_by(
        self, tokens: list[Token], first: int, last: int, drug: tuple[int, int], drug_tokens: set[int]
    ) -> bool:
        """The event at tokens [first, last) is a condition that the drug at tokens `drug` is said to
        do nothing for: what the drug is taken for, not a reaction.

        The words right after the drug say it has no effect ("isn't doing much", "isn't helping",
        "hasn't helped", "does nothing for it"); the event is not those words ("doesn't work" is the
        event "drug ineffective"), it is named in the drug's verb phrase ("I've got a bad back and
        paracetamol isn't doing much", "paracetamol isn't helping my headache") or in the clause
        right before the drug's ("my back hurts but co-codamol hasn't helped"), and its clause names
        no other drug and no reaction cue ("since starting", "caused", "new" ...).
        """
        drug_first, drug_last = drug
        span = self._no_effect_span(tokens, drug_last)
        if span is None or (first < span[1] and span[0] < last):
            return False
        phrase_start, phrase_end = self.phrase_bounds(tokens, drug_first, drug_last)
        clause_start, clause_end = self.clause_bounds(tokens, first, last)
        beside = (phrase_start <= first and last <= phrase_end) or (
            clause_end + 1 == self.clause_bounds(tokens, drug_first, drug_last)[0]
        )
        other_drug = any(
            i in drug_tokens and not drug_first <= i < drug_last for i in range(clause_start, clause_end)
        )
        cue = any(w in self.cues.reaction_cues for w in _words(tokens, clause_start, clause_end))
        return beside and not other_drug and not cue

    def is_uncertain(self, tokens: list[Token], first: int, last: int) -> bool:
        """Hypothetical or asked about ("could this cause hair loss?"), unless plainly experienced.

        An event right after a possessive or an experiencing verb ("my rash", "I've been getting
        headaches") occurred, whatever the sentence asks about its cause; not what nearly happened
        ("I nearly fainted") nor what a question asks others ("Has anyone had hair loss on it?").
        """
        c = self.cues
        clause_start, clause_end = self.clause_bounds(tokens, first, last)
        if first > clause_start and tokens[first - 1].text in c.nearly:
            return True
        words = _words(tokens, clause_start, first)
        question = clause_end < len(tokens) and tokens[clause_end].text == "?"
        if question and any(w in c.others for w in words):
            return True
        before = _words(tokens, max(clause_start, first - 3), first)
        lived = [i for i, w in enumerate(before) if w in c.experienced]
        if lived and not any(w in c.hypothetical for w in before[lived[-1] :]):
            return False  # not "tengo miedo de ...", "I have a fear of ...": the fear is had
        clause = _words(tokens, clause_start, clause_end)
        if question and any(w in c.definite for w in before):
            return False  # "could it be causing the dizziness?" presupposes the dizziness
        # "is this normal??" asks about what happened; "can it cause hair loss?" what could happen
        if question and any(w in c.hypothetical or w in c.question_verbs for w in clause):
            return True
        after = _words(tokens, last, min(last + 2, clause_end))
        return (
            any(w in c.hypothetical for w in words)
            or has_phrase(words, c.hypothetical_phrases)
            or any(w in c.risk_after for w in after)
        )

    def _is_indication(self, tokens: list[Token], first: int, last: int, drug_tokens: set[int]) -> bool:
        c = self.cues
        clause_start, clause_end = self.clause_bounds(tokens, first, last)
        if tokens[clause_start].text in c.purpose and first - clause_start <= 4:
            return True  # a review's "For IBS.", "For period cramps, the ones that ..."
        after_colon = clause_start >= 2 and tokens[clause_start - 1].text == ":"
        if after_colon and tokens[clause_start - 2].text in c.purpose and first - clause_start <= 3:
            return True  # a review site's "For: acne."
        if any(t.text in c.relieving for t in tokens[max(clause_start, first - 5) : first]):
            return True  # "cured my reflux", "it's helped a lot with the pain": what the drug treats
        # "for" and its like count only in the event's own verb phrase: "I take metformin for
        # diabetes and get diarrhoea" names an indication and then a reaction
        phrase_start = self.phrase_bounds(tokens, first, last)[0]
        did = max(
            (i + 1 for i in range(phrase_start, first) if tokens[i].text in c.did), default=phrase_start
        )
        window_start = max(did, first - 5)
        before = _words(tokens, window_start, first)
        earlier = range(clause_start, first)
        drug_or_taking_before = any(
            i in drug_tokens or tokens[i].text in c.taking or _DOSE.fullmatch(tokens[i].text) for i in earlier
        )  # "20mg at bedtime for reflux": a dose is the drug taken
        purposes = [
            i
            for i, w in enumerate(before)
            if w in c.purpose
            and not (i + 1 < len(before) and (before[i + 1] in c.durations or before[i + 1].isdigit()))
        ]  # not "on Ozempic for 8 months reports hair shedding": how long, not what for
        if purposes and drug_or_taking_before:
            return True
        if any(w in c.indication for w in before) or has_phrase(before, c.indication_phrases):
            return drug_or_taking_before or any(w in c.indication for w in before)
        after = _words(tokens, last, min(last + 2, clause_end))
        return bool(after) and after[0] in c.indication_after

    def _names_purpose(self, tokens: list[Token], first: int, drug_tokens: set[int]) -> bool:
        """The mention at `first` follows "for" after another drug or a taking word of its clause:
        it says what that drug is for ("paracetamol for pain relief", "I take it for pain relief")."""
        c = self.cues
        clause_start = self.clause_bounds(tokens, first, first + 1)[0]
        i = first - 1
        while i >= clause_start and tokens[i].text in c.determiners:
            i -= 1
        return (
            i > clause_start
            and tokens[i].text in c.purpose
            and any(j in drug_tokens or tokens[j].text in c.taking for j in range(clause_start, i))
        )

    def _relative_before(self, tokens: list[Token], clause_start: int, first: int) -> str | None:
        c = self.cues
        words = _words(tokens, clause_start, first)
        for i in range(len(words) - 1, 0, -1):
            if words[i] in c.relatives and words[i - 1] in c.possessives:
                # "my husband took me to hospital because I fainted": the event is mine again
                if any(w in c.reporter_words for w in words[i + 1 :]):
                    return None
                return c.relatives[words[i]]
        return None

    def mention_context(
        self,
        tokens: list[Token],
        first: int,
        last: int,
        *,
        kind: str,
        flags: frozenset[str] = frozenset(),
        normalized: str = "",
        drug_tokens: set[int] | None = None,
        patient_relative: str | None = None,
    ) -> Context:
        """The context of the mention at tokens [first, last) of one sentence."""
        c = self.cues
        negated = self.is_negated(tokens, first, last)
        clause_start, clause_end = self.clause_bounds(tokens, first, last)
        relative = self._relative_before(tokens, clause_start, first)
        if kind == "DRUG":
            # "my dad went to A&E and they gave him vitamin K": his drug, not a suspect of this
            # case; "I gave my son Calpol" names the reporter, and the son may be the patient the
            # finder missed
            if (
                relative is not None
                and relative != patient_relative
                and not any(t.text in c.first_person for t in tokens[clause_start:clause_end])
            ):
                return Context(negated=negated, role="family", relative=relative)
            if "class" in flags and self._names_purpose(tokens, first, drug_tokens or set()):
                return Context(negated=negated, role="other")
            return Context(negated=negated, role="suspect")
        uncertain = self.is_uncertain(tokens, first, last)
        clause = _words(tokens, clause_start, clause_end)
        role: Role = "suspect"
        reaction_cue = any(w in c.reaction_cues for w in clause)
        has_drug = any(clause_start <= i < clause_end for i in (drug_tokens or set()))
        if has_phrase(clause, c.family_history_phrases) or (
            relative is not None
            and relative != patient_relative
            and relative not in EXPOSED_RELATIVES
            and normalized not in PREGNANCY_OUTCOMES
        ):
            role = "family"
        elif self._is_indication(tokens, first, last, drug_tokens or set()):
            role = "indication"
        elif (
            has_phrase(clause, c.strong_history_phrases)
            or (has_phrase(clause, c.weak_history_phrases) and not has_drug and not reaction_cue)
            or ("cond" in flags and not reaction_cue)
        ):
            role = "history"
        return Context(negated=negated, uncertain=uncertain, role=role, relative=relative)

    # A drug given or taken to treat a reaction (pv.intelligence.assess decides across sentences;
    # these read one sentence).

    def in_emergency_care(self, tokens: list[Token]) -> bool:
        """The sentence is about emergency or hospital care (A&E, paramedics, an ambulance ...)."""
        return has_phrase([t.text for t in tokens], self.cues.emergency_care_phrases)

    def is_given(self, tokens: list[Token], first: int, last: int) -> bool:
        """A word before the drug in its clause says it was given or used ("they gave me vitamin K",
        "got an adrenaline shot", "treated with"), or one right after it ("naloxone was given")."""
        clause_start, clause_end = self.clause_bounds(tokens, first, last)
        seen = 0
        i = first - 1
        while i >= clause_start and seen < _GIVING_WINDOW:
            if tokens[i].text in self.cues.giving:
                return True
            seen += tokens[i].is_word
            i -= 1
        after = _words(tokens, last, min(last + 3, clause_end))
        return any(w in self.cues.given_after for w in after)

    def purpose(
        self,
        tokens: list[Token],
        first: int,
        last: int,
        treated: set[int],
        drug_tokens: set[int] | frozenset[int] = frozenset(),
    ) -> bool | None:
        """What the drug was for, when its own verb phrase says: True when for a treated reaction
        (its tokens in `treated`) or a pronoun standing for one ("for the rash", "for it", "to stop
        the itching"), False when for something else ("for my stomach", "to control my blood
        pressure"), None when the phrase does not say.

        The phrase is the drug's own: it ends where another verb phrase opens ("I got a rash after
        starting lisinopril and took Piriton for it": Piriton's, not lisinopril's) or at another
        drug (`drug_tokens`) unless the two are listed together ("metformin and gliclazide for my
        diabetes").
        """
        c = self.cues
        end = self.phrase_bounds(tokens, first, last)[1]
        i, seen, listed = last, 0, True
        while i < end and seen < 6:
            if i in drug_tokens:
                if not listed:
                    return None  # "ibuprofen for ... lisinopril": a purpose after it is the other's
                while i < end and i in drug_tokens:
                    i += 1
                continue
            word = tokens[i].text
            listed = listed and (word in c.listing or word in c.determiners)
            seen += 1
            if word in c.infinitive and i + 1 < end and tokens[i + 1].text in c.treating:
                return self._what_for(tokens, i + 2, end, treated, c.object_fillers, True)
            if word in c.purpose:
                what_for = self._what_for(tokens, i + 1, end, treated, frozenset(), None)
                if what_for is not None:
                    return what_for
            i += 1
        return None

    def _what_for(
        self,
        tokens: list[Token],
        j: int,
        end: int,
        treated: set[int],
        fillers: frozenset[str],
        bare: bool | None,
    ) -> bool | None:
        """Read what a "for"/"to ease" phrase names from token j: a treated reaction or a pronoun
        (True), a duration (None) or something else (False); `bare` when it names nothing."""
        c = self.cues
        start = j
        while j < end and (tokens[j].text in c.determiners or tokens[j].text in fillers):
            j += 1
        if j >= end:
            if j > start and tokens[j - 1].text in c.pronouns:  # "for this", "to stop that"
                return True
            return bare
        word = tokens[j].text
        if word in c.durations or word in c.not_purposes or word.isdigit():
            return None
        return word in c.pronouns or any(k in treated for k in range(j, min(j + 3, end)))

    def named_as_treated(self, tokens: list[Token], first: int) -> bool:
        """The event at `first` is named, as one already spoken of, as what something was for: "for
        the swelling", "to stop the itching", "to help with this rash" (not "for my diabetes")."""
        c = self.cues
        j = first - 1
        if j < 1 or tokens[j].text not in c.this_that:
            return False
        j -= 1
        while j > 0 and tokens[j].text in c.object_fillers:
            j -= 1
        word = tokens[j].text
        return word in c.purpose or (word in c.treating and j > 0 and tokens[j - 1].text in c.infinitive)

    def put_down_to_cause(self, tokens: list[Token], last: int, drug_tokens: set[int]) -> str | None:
        """What the words right after the event ending at `last` say caused it: "drug" for a drug of
        `drug_tokens` ("the rash lisinopril causes", "the rash from the lisinopril"), "pronoun" for
        it or they ("the headache it gave me", "the nausea from it"), None when they do not say."""
        c = self.cues
        end = self.clause_bounds(tokens, max(last - 1, 0), last)[1]
        i = last
        if i < end and tokens[i].text in c.relative_pronouns:
            i += 1  # "the headache that it gave me"
        via = i < end and tokens[i].text in c.via
        i += via
        while i < end and tokens[i].text in c.determiners and i not in drug_tokens:
            i += 1
        if i < end and i in drug_tokens:
            causer = "drug"
            while i < end and i in drug_tokens:
                i += 1
        elif i < end and tokens[i].text in c.causers:
            causer, i = "pronoun", i + 1
        else:
            return None
        if via:
            return causer
        while i < end and tokens[i].text in c.auxiliaries:
            i += 1
        return causer if i < end and tokens[i].text in c.causing else None

    def refers_back(self, tokens: list[Token]) -> bool:
        """The sentence opens by going back to what the one before told: "Since then I've been
        drowsy", "ever since", "after that" (after "and" or "but")."""
        words = [t.text for t in tokens if t.is_word]
        while words and words[0] in self.cues.skipped_openers:
            words = words[1:]
        return starts_with(words, self.cues.back_reference_phrases)

    def is_started(self, tokens: list[Token], first: int, last: int) -> bool:
        """A word just before the drug in its clause says the reporter started it or it is new
        ("started lisinopril", "my new tablets", "the GP put me on")."""
        clause_start = self.clause_bounds(tokens, first, last)[0]
        seen = 0
        i = first - 1
        while i >= clause_start and seen < 3:
            if tokens[i].text in self.cues.starting:
                return True
            seen += tokens[i].is_word
            i -= 1
        return False

    def is_replacing(self, tokens: list[Token], first: int, last: int) -> bool:
        """The drug's clause says it replaced another ("switched me to", "instead"): a new suspect,
        not a treatment."""
        clause_start, clause_end = self.clause_bounds(tokens, first, last)
        return any(t.text in self.cues.replacing for t in tokens[clause_start:clause_end])

    def is_blamed(self, tokens: list[Token], first: int, last: int) -> bool:
        """The words around the drug say it caused something: "after/from/since the X", "reaction to
        X", "X made it worse", "X caused ...", unless its clause says it helped."""
        c = self.cues
        clause_start, clause_end = self.clause_bounds(tokens, first, last)
        clause = _words(tokens, clause_start, clause_end)
        i = first - 1
        while i >= clause_start and tokens[i].text in c.determiners:
            i -= 1
        if i >= clause_start and tokens[i].text in c.cause_before:
            return True
        if (
            i >= clause_start
            and tokens[i].text in c.infinitive
            and any(w in c.reacting for w in _words(tokens, max(clause_start, i - 3), i))
        ):
            return True
        after = _words(tokens, last, min(last + 6, clause_end))
        # "ibuprofen for the headaches it causes": what follows "for the" is what it was taken
        # for, and the cause named there is another's
        purpose_at = next(
            (k for k in range(len(after) - 1) if after[k] in c.purpose and after[k + 1] in c.the_one),
            len(after),
        )
        after = after[:purpose_at]
        return any(w in c.cause_after for w in after) and not any(w in c.relief for w in clause)

    def worsening(self, tokens: list[Token], first: int, last: int) -> bool:
        """The clause of a reaction says it got worse or spread ("my rash got worse")."""
        clause_start, clause_end = self.clause_bounds(tokens, first, last)
        return any(t.text in self.cues.worsening for t in tokens[clause_start:clause_end])


@cache
def rescue_treatments() -> frozenset[str]:
    """The names of emergency_treatments.tsv (antidotes, reversal agents, adrenaline ...), folded."""
    text = resources.files("pv.resources").joinpath("emergency_treatments.tsv").read_text(encoding="utf-8")
    names: set[str] = set()
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            row = line.split("\t")
            names.update(" ".join(t.text for t in tokenize(n)) for n in [row[0], *row[1].split("|")] if n)
    return frozenset(names)
