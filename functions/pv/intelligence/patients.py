"""Who the patient is and who reports: the patient and reporter rules of case intelligence.

`find_patient` (the reporter, a relative, someone the reporter cares for), `reporter_qualification`
(a healthcare professional, a carer, a relative ...), whether the reporter and the patient are
identifiable (two of the four elements of a valid case, ICH E2D), and what the regulatory record
asks of them (`read_persons`: the reporter's profession, the patient's sex and age).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Literal

from pv.models import Channel, SourceDocument
from pv.sentences import document_sentences

from .text import Patterns, Phrases, find_phrase, fold, has_phrase, starts_with, tokenize

if TYPE_CHECKING:
    from .context import Cues

Sex = Literal["female", "male"]
# A health profession as the reporter names it: the kinds ICH E2B(R3) C.2.r.4 tells apart.
Profession = Literal["physician", "pharmacist", "other"]

_REPORTER_KEYS = {
    Channel.EMAIL: ("from", "sender", "reply_to"),
    Channel.SOCIAL: ("author", "user", "username", "handle", "author_id"),
    Channel.CALL: ("caller", "caller_id", "phone", "caller_name"),
}
_SELF_IDENTIFIED = re.compile(
    r"\b(?:my name is|my name's|this is [A-Z][a-z]+|regards|sincerely|thanks),?\s+[A-Z][a-z]+"
)
_AGE = re.compile(r"\b\d{1,3}[- ]?(?:years?|yrs?|y/?o)(?:[- ]old)?\b|\baged?\s+\d{1,3}\b|\bi'?m\s+\d{1,3}\b")
_SEX = re.compile(r"\b(?:man|woman|male|female|boy|girl|gentleman|lady|mr|mrs|ms|miss)\b")
_INITIALS = re.compile(r"\b(?:[A-Z]\.\s?){2,3}(?=\W|$)|\b(?:patient|pt|initials)\s*:?\s*[A-Z]{2,3}\b")


def reporter_identifiable(document: SourceDocument) -> bool:
    """A sender, author or caller we could contact: channel metadata, a caller's turns, or a name given."""
    if any(document.metadata.get(key) for key in _REPORTER_KEYS.get(document.channel, ())):
        return True
    if document.channel == Channel.CALL and any(u.speaker == "caller" for u in document.units):
        return True  # the call centre took the call: the caller is a contactable person
    return bool(_SELF_IDENTIFIED.search("\n".join(u.text for u in document.units)))


def patient_identifiable(text: str, patient: str | None, *, folded: str | None = None) -> bool:
    """Whether the patient is identifiable: someone the text points to, an age, a sex or initials
    (`folded`: the text folded, when the caller has it)."""
    folded = fold(text) if folded is None else folded
    return patient is not None or bool(_AGE.search(folded) or _SEX.search(folded) or _INITIALS.search(text))


# Someone the reporter looks after: a clinician's patient, a pharmacist's customer, a carer's client.
# Not a compound ("the patient leaflet", "customer services") and not the reporter ("I'm a customer").
_NOT_A_PERSON = (
    r"(?!\s+(?:information|leaflet|leaflets|support|advice|help ?line|line|portal|services?|forum|"
    r"group|card|safety|care team|record|records|number|id|experience|inbox))"
)
_AGED = (
    r"(?:\d+[- ]?(?:year|yr)s?[- ]?old\s+)?"
    r"(?:(?:male|female|elderly|older|young|regular|long[- ]standing|new)\s+)?"
)
_CLINICIAN_PATIENT = re.compile(
    rf"\b(?:my|our|a|an|the|this|that|one of my|one of our)\s+{_AGED}(?:patient|pt)s?\b{_NOT_A_PERSON}"
)
# A customer or client is the patient when the reporter's own ("our customer", "a client of mine"),
# or when the reporter says they care for people ("I'm a pharmacist ... a customer came in"); a
# company's "a customer sent this" is the reporter of the forwarded text.
_CUSTOMER = r"(?:customer|client|resident|service user)s?"
_OWN_CUSTOMER = re.compile(
    rf"\b(?:(?:my|our|one of my|one of our)\s+{_AGED}{_CUSTOMER}\b|"
    rf"(?:a|an|one)\s+{_AGED}{_CUSTOMER}\s+of\s+(?:ours|mine)\b){_NOT_A_PERSON}"
)
_ANY_CUSTOMER = re.compile(rf"\b(?:a|an|the|this|that|one)\s+{_AGED}{_CUSTOMER}\b{_NOT_A_PERSON}")
# Before "a patient", "a customer": the reporter or someone else is one ("I'm a customer", "my mum
# is a patient at St Mary's"); not someone the reporter cares for.
_IS_ONE = re.compile(r"\b(?:i|i'm|am|is|are|was|were|been|as|being|he's|she's|we're)\s*$")
# Only a clinician calls someone "my patient" or "a patient of mine".
_OWN_PATIENT = re.compile(
    rf"\b(?:my|our|one of my|one of our)\s+{_AGED}(?:patient|pt)s?\b{_NOT_A_PERSON}|"
    r"\ba\s+patient\s+of\s+(?:mine|ours)\b"
)
# Someone else, named without a name: what a carer's "he" or "she" refers to.
_THIRD_PERSON = re.compile(
    r"\b(?:he|she|him|his|he's|she's|(?:a|an|the|this|one)\s+(?:(?:elderly|older|old|young)\s+)?"
    r"(?:man|woman|lady|gentleman|gent|boy|girl|person|chap|fellow|teenager))\b"
)
# The reporter takes the drug themselves ("I started Lipitor", "the GP put me on it").
_FIRST_PERSON_TAKING = re.compile(
    r"\b(?:i|i'm|i've|i was|i am|i have|i had)\s+(?:\w+\s+)?"
    r"(?:on|taking|take|took|started|start|using|use|used|injecting|inject|injected)\b|"
    r"\b(?:gave|given|put|started|prescribed|switched)\s+me\b|\bmy\s+(?:\w+\s+)?(?:dose|prescription|tablets|meds)\b"
)
_FIRST_PERSON = re.compile(r"\b(?:i|me|my|i'm|i've|i'd|myself)\b")


@dataclass(frozen=True)
class _RelativePatterns:
    """The English rules' patterns for the reporter's relatives, from the words of context_cues.tsv
    (`PersonWords.relative_patterns`). A relative is named by a possessive and a relative's word
    ("my mum"), an age and one ("my 3 year old son") or an age alone ("my 4yo", "my 2-year-old":
    a child; group 1 the word, group 2 the age)."""

    named: re.Pattern[str]  # "my husband", "my 4yo"
    taking: re.Pattern[str]  # "my mum was put on warfarin", "my grandson (3) swallowed"
    pronoun_taking: re.Pattern[str]  # "he is taking Eliquis", "she's been on lithium"
    given: re.Pattern[str]  # "I gave my 2-year-old Calpol", "we gave our daughter", "gave him Piriton"
    opening: re.Pattern[str]  # a sentence that opens with a relative: "son came up in welts"


def _alternatives(phrases: Sequence[str]) -> str:
    """Folded phrases as a regular expression's alternatives, longest first (`_regex`, no groups)."""
    return "|".join(sorted((_regex(p, number=r"\d{1,3}") for p in phrases), key=len, reverse=True)) or r"(?!)"


def _regex(pattern: str, number: str = r"(\d{1,3})") -> str:
    """A `*_patterns` phrase as a regular expression: its words, "#" a `number` of up to three
    digits, a space after it also a hyphen or nothing ("4yo", "45-year-old")."""
    regex = ""
    for n, piece in enumerate(pattern.split("#")):
        if n:
            regex += number
            if piece.startswith(" "):
                regex, piece = regex + "[- ]?", piece[1:]
        regex += r"\s+".join(re.escape(w) for w in piece.split(" "))
    return regex


@cache
def _relative_patterns(
    relatives: frozenset[str], child_ages: Patterns, being: Patterns, taking: Patterns, giving: Patterns
) -> _RelativePatterns:
    """The patterns for these words (`PersonWords.relative_patterns`; cached, as the words are)."""
    names, ages = _alternatives(sorted(relatives)), _alternatives(child_ages)
    named = rf"\b(?:my|our)\s+(?:(?:{ages})\s+)?({names})\b|\b(?:my|our)\s+({ages})(?![\w-])"
    took = rf"(?:\s+(?:{_alternatives(being)}))?\s+(?:{_alternatives(taking)})\b"
    return _RelativePatterns(
        named=re.compile(named),
        taking=re.compile(rf"(?:{named})(?:\s*\(\d{{1,3}}\))?{took}"),
        pronoun_taking=re.compile(rf"\b(?:he|she)(?:'s)?{took}"),
        given=re.compile(
            rf"(?:^|\b(?:i|we|i've|we've|i'd)\s+(?:\w+\s+)?)(?:{_alternatives(giving)})\s+(?:{named}|(him|her)\b)"
        ),
        opening=re.compile(rf"^({names})\s+([\w']+)"),
    )


def _relative(match: re.Match[str], relatives: dict[str, str]) -> str:
    """The relative a `_RelativePatterns.named` match names: a relative's word, else a child."""
    return relatives[match.group(1)] if match.group(1) else "child"


@dataclass(frozen=True)
class PersonWords:
    """The patient and reporter rules' words for a document's language (context_cues.tsv: the
    English rows and those of the language): possessives ("mi", "meine"), relatives ("madre":
    mother), the reporter's own words ("yo", "ich"), how a reporter says what they are ("soy",
    "je suis", "als") and the professions (physicians, pharmacists, others) and carer words that
    follow, a pharmacist's "our pharmacy" and a physician's title, and, for the languages
    patients.py's regular expressions do not read, someone cared for ("una paciente mía"), a third
    person ("ella") and the reporter taking the drug themselves ("tomo"); the patient's sex and age
    as the text gives them ("mujer", "j'ai 45 ans")."""

    language: str
    possessives: frozenset[str]
    relatives: dict[str, str]
    first_person: frozenset[str]
    self_descriptions: Phrases = ()
    articles: frozenset[str] = frozenset()
    introduction_ends: frozenset[str] = frozenset()
    greetings: frozenset[str] = frozenset()
    as_words: Phrases = ()
    as_article_words: Phrases = ()
    physicians: Phrases = ()
    pharmacists: Phrases = ()
    other_professionals: Phrases = ()
    own_pharmacies: Phrases = ()
    physician_titles: frozenset[str] = frozenset()
    carers: Phrases = ()
    caring: Phrases = ()
    own_patients: Phrases = ()
    cared_for: Phrases = ()
    third_persons: frozenset[str] = frozenset()
    self_taking: Phrases = ()
    female: Patterns = ()
    male: Patterns = ()
    ages: Patterns = ()
    duration_openers: frozenset[str] = frozenset()
    female_relatives: frozenset[str] = frozenset()
    male_relatives: frozenset[str] = frozenset()
    child_ages: Patterns = ()
    being: Patterns = ()
    taking: Patterns = ()
    giving: Patterns = ()
    calling_about: Phrases = ()

    @property
    def relative_patterns(self) -> _RelativePatterns:
        """The English rules' patterns of the reporter's relatives, with these words."""
        return _relative_patterns(
            frozenset(self.relatives), self.child_ages, self.being, self.taking, self.giving
        )

    @property
    def professionals(self) -> Phrases:
        """Every healthcare professional's word, whatever the kind."""
        return self.physicians + self.pharmacists + self.other_professionals

    @classmethod
    def of(cls, cues: Cues, language: str) -> PersonWords:
        """The words of `cues` (`context.cues(language)`) for a document read in `language`."""
        return cls(
            language=language,
            possessives=cues.possessives,
            relatives=cues.relatives,
            first_person=cues.first_person,
            self_descriptions=cues.self_description_phrases,
            articles=cues.self_description_articles,
            introduction_ends=cues.introduction_ends,
            greetings=cues.greetings,
            as_words=cues.as_phrases,
            as_article_words=cues.as_article_phrases,
            physicians=cues.physician_phrases,
            pharmacists=cues.pharmacist_phrases,
            other_professionals=cues.other_professional_phrases,
            own_pharmacies=cues.own_pharmacy_phrases,
            physician_titles=cues.physician_titles,
            carers=cues.carer_phrases,
            caring=cues.caring_phrases,
            own_patients=cues.own_patient_phrases,
            cared_for=cues.cared_for_phrases,
            third_persons=cues.third_persons,
            self_taking=cues.self_taking_phrases,
            female=cues.female_patterns,
            male=cues.male_patterns,
            ages=cues.age_patterns,
            duration_openers=cues.duration_openers,
            female_relatives=cues.female_relatives,
            male_relatives=cues.male_relatives,
            child_ages=cues.child_age_patterns,
            being=cues.being_patterns,
            taking=cues.relative_taking_patterns,
            giving=cues.giving_others_patterns,
            calling_about=cues.calling_about_phrases,
        )


def person_words(language: str) -> PersonWords:
    """The words for a document read in `language` (its rows and the English ones; English alone
    for a language the rules do not read)."""
    from .context import cues

    return PersonWords.of(cues(language), language)


def english_words() -> PersonWords:
    """The English rows' words (a document read in English)."""
    return person_words("en")


def _says_they_are(sentences: list[list[str]], words: PersonWords, what: Phrases) -> bool:
    """The reporter says they are one of `what`: "I'm a nurse", "soy enfermera", "je suis la
    pharmacienne", "als Hausärztin", "as a district nurse", "I am a breast care nurse" (a
    self-description, then maybe an article and up to two more words; "as" right before it; or
    "as a", maybe one more word, and it), or introduces themselves as one (`_introduces_as`)."""
    phrases = (*words.self_descriptions, *words.as_words, *words.as_article_words)
    # Each test below needs the phrase to start at ws[i]: other positions are skipped.
    openers = None if any(not p for p in phrases) else {p[0] for p in phrases}
    for ws in sentences:
        if _introduces_as(ws, words, what):
            return True
        for i in range(len(ws)):
            if openers is not None and ws[i] not in openers:
                continue
            for phrase in words.self_descriptions:
                if tuple(ws[i : i + len(phrase)]) != phrase:
                    continue
                after = ws[i + len(phrase) :]
                if starts_with(after, what) or (
                    after[:1] and after[0] in words.articles and _few_words_then(after[1:], what, 2)
                ):
                    return True
            if any(
                tuple(ws[i : i + len(p)]) == p and starts_with(ws[i + len(p) :], what) for p in words.as_words
            ) or any(
                tuple(ws[i : i + len(p)]) == p and _few_words_then(ws[i + len(p) :], what, 1)
                for p in words.as_article_words
            ):
                return True
    return False


def _few_words_then(words: list[str], what: Phrases, most: int) -> bool:
    """`words` open with one of `what`, maybe after up to `most` more words ("district nurse",
    "breast care nurse")."""
    return any(starts_with(words[n:], what) for n in range(most + 1))


# What may follow a profession that introduces the reporter ("ER doc.", "Clinical pharmacist, St. Joseph's").
_INTRODUCTION_BREAKS = frozenset({",", ".", "!", ":", "-"})


def _introduces_as(sentence: list[str], words: PersonWords, what: Phrases) -> bool:
    """A sentence that introduces the reporter as one of `what` without a verb: it opens with one,
    maybe after a word that is no article, possessive or greeting, and ends there or at a comma,
    maybe after an introduction's end ("Hospitalist here.", "ER doc.", "Clinical pharmacist, St.
    Joseph's."; not "The pharmacist, who was lovely, ...", "Dear doctor,", "Doctor said stop it"
    nor "GP here was useless")."""
    for n in range(2):
        if any(w in words.articles or w in words.possessives or w in words.greetings for w in sentence[:n]):
            return False
        for phrase in what:
            if tuple(sentence[n : n + len(phrase)]) == phrase:
                rest = sentence[n + len(phrase) :]
                if rest[:1] and rest[0] in words.introduction_ends:
                    rest = rest[1:]
                if not rest or rest[0] in _INTRODUCTION_BREAKS:
                    return True
    return False


def _professional_kind(sentences: list[list[str]], words: PersonWords) -> Profession | None:
    """The kind of healthcare professional the reporter says they are (the first kind that fits,
    physicians first), or None."""
    kinds: list[tuple[Profession, Phrases]] = [
        ("physician", words.physicians),
        ("pharmacist", words.pharmacists),
        ("other", words.other_professionals),
    ]
    return next((kind for kind, what in kinds if _says_they_are(sentences, words, what)), None)


def _is_professional(sentences: list[list[str]], words: PersonWords) -> bool:
    return _professional_kind(sentences, words) is not None


def _is_lay_carer(sentences: list[list[str]], words: PersonWords) -> bool:
    return _says_they_are(sentences, words, words.carers) or any(
        has_phrase(ws, words.caring) for ws in sentences
    )


def _sentence_words(folded_sentences: list[str], tokens: list[list[str]] | None) -> list[list[str]]:
    return tokens if tokens is not None else [[t.text for t in tokenize(s)] for s in folded_sentences]


def find_patient(
    folded_sentences: list[str],
    drug_sentences: set[int],
    words: PersonWords | None = None,
    tokens: list[list[str]] | None = None,
) -> str | None:
    """Who the patient is: "patient" (someone the reporter cares for), a relative ("mother"),
    "reporter", or None.

    Someone the reporter looks after wins: a clinician's patient, a pharmacist's customer, a
    carer's client ("one of our customers", "a patient of mine", "una paciente mía"), or, when the
    reporter says they are a pharmacist, nurse, doctor or carer ("soy enfermera", "ich bin
    Apothekerin"), the "he" or "she" of a sentence naming a drug that the reporter does not take
    themselves. A relative is the patient when they take the drug ("my mum was put on warfarin",
    "my sister ... She's been on lithium"), when the reporter gives it to them ("I gave my
    2-year-old Calpol") or calls about them ("j'appelle pour mon fils"), or when named in a
    sentence that names a drug without the reporter's "I" ("My 4yo got spots on day 5 of
    amoxicillin"; in English also without "my": "Son came up in welts after the amoxicillin");
    otherwise a first-person report is about the reporter. `words`: the words of the document's
    language (English when not given); `tokens`: the folded sentences'
    words, when the caller has them.
    """
    words = words or english_words()
    sentences = _sentence_words(folded_sentences, tokens)
    # a post whose drug is only the product it was collected for: every sentence is about it
    drug_sentences = drug_sentences or set(range(len(folded_sentences)))
    text = " ".join(folded_sentences)
    carer = _is_professional(sentences, words) or _is_lay_carer(sentences, words)
    cared_for = [_CLINICIAN_PATIENT, _OWN_CUSTOMER, *([_ANY_CUSTOMER] if carer else [])]
    if any(
        not _IS_ONE.search(text[max(0, m.start() - 12) : m.start()])
        for pattern in cared_for
        for m in pattern.finditer(text)
    ) or any(
        has_phrase(ws, words.own_patients) or (carer and has_phrase(ws, words.cared_for)) for ws in sentences
    ):
        return "patient"
    patterns = words.relative_patterns
    taking = patterns.taking.search(text)
    if taking:
        return _relative(taking, words.relatives)
    pronoun = patterns.pronoun_taking.search(text)
    if pronoun:  # "my husband ... He is taking Eliquis": the last relative named before
        named = list(patterns.named.finditer(text, 0, pronoun.start()))
        if named:
            return _relative(named[-1], words.relatives)
    given = _given_to(folded_sentences, drug_sentences, words) or _called_about(sentences, words)
    if given is not None:
        return given
    first_person = {i for i in drug_sentences if re.search(r"\b(?:i|i'm|i've|i'd)\b", folded_sentences[i])}
    # "my mum told me to stop the ibuprofen I take": the reporter takes it; and so, in "My dad
    # went to A&E and they gave him vitamin K. I take warfarin.", the dad's drug is his history.
    if not first_person:
        for i in sorted(drug_sentences):
            match = patterns.named.search(folded_sentences[i])
            if match:
                return _relative(match, words.relatives)
        opening = _opening_relative([folded_sentences[i] for i in sorted(drug_sentences)], words)
        if opening is not None:
            return opening
    if carer and any(
        _speaks_of_another(folded_sentences[i], sentences[i], words) for i in sorted(drug_sentences)
    ):
        return "patient"
    if words.language != "en":
        relative = _relative_named(sentences, drug_sentences, words)
        if relative is not None:
            return relative
    if _FIRST_PERSON.search(text):
        return "reporter"
    return None


def _given_to(folded_sentences: list[str], drug_sentences: set[int], words: PersonWords) -> str | None:
    """The relative the reporter gives a drug to, in a sentence naming one ("I gave my 2-year-old
    Calpol": a child; "my partner and I both gave our daughter a dose"), or "gave him"/"gave her"
    after naming them ("Son came up in welts. Gave him Piriton."); not "they gave him vitamin K"."""
    patterns = words.relative_patterns
    for i in sorted(drug_sentences):
        match = patterns.given.search(folded_sentences[i])
        if match is None:
            continue
        if match.group(3) is None:
            return _relative(match, words.relatives)
        before = " ".join(folded_sentences[:i]) + " " + folded_sentences[i][: match.start()]
        named = list(patterns.named.finditer(before))
        if named:
            return _relative(named[-1], words.relatives)
        opening = _opening_relative(folded_sentences[:i], words)
        if opening is not None:
            return opening
    return None


def _called_about(sentences: list[list[str]], words: PersonWords) -> str | None:
    """The relative the reporter calls or writes about: "I'm calling about my dad", "j'appelle pour
    mon fils de 5 ans", "llamo por mi madre" (the possessive and the relative right after)."""
    for ws in sentences:
        for phrase in words.calling_about:
            at = find_phrase(ws, phrase)
            if at >= 0:
                after = ws[at + len(phrase) : at + len(phrase) + 2]
                if len(after) == 2 and after[0] in words.possessives and after[1] in words.relatives:
                    return words.relatives[after[1]]
    return None


def _opening_relative(folded_sentences: list[str], words: PersonWords) -> str | None:
    """In English, a relative that opens a sentence without a possessive, in one without the
    reporter's "I" or "my" ("Son came up in raised red welts"; not "Mum here.", "Husband and I
    both ...", "Wife says my statin ...")."""
    if words.language != "en":
        return None
    for folded in folded_sentences:
        match = words.relative_patterns.opening.search(folded)
        if match and match.group(2) not in words.introduction_ends and not _FIRST_PERSON.search(folded):
            return words.relatives[match.group(1)]
    return None


def _speaks_of_another(folded: str, sentence: list[str], words: PersonWords) -> bool:
    """A sentence about a third person ("he", "ella", "er") who takes the drug, not the reporter."""
    third = _THIRD_PERSON.search(folded) is not None or any(w in words.third_persons for w in sentence)
    return third and not (_FIRST_PERSON_TAKING.search(folded) or has_phrase(sentence, words.self_taking))


def _relative_named(sentences: list[list[str]], drug_sentences: set[int], words: PersonWords) -> str | None:
    """In another language: the reporter when a sentence naming a drug speaks in the first person
    ("yo tomo"), else the relative a possessive names in one ("mi madre toma", "unser Sohn nimmt"),
    else the reporter when any sentence speaks in the first person or says they take the drug
    without a pronoun ("tomei", "uso"; only after the relatives, as folded "tomo" is also "tomó",
    they took)."""
    with_drug = [sentences[i] for i in sorted(drug_sentences)]
    if any(w in words.first_person for ws in with_drug for w in ws):
        return "reporter"
    for ws in with_drug:
        for before, word in itertools.pairwise(ws):
            if before in words.possessives and word in words.relatives:
                return words.relatives[word]
    return "reporter" if any(_in_first_person(ws, words) for ws in sentences) else None


def _in_first_person(sentence: list[str], words: PersonWords) -> bool:
    """The sentence has the reporter's own word ("yo", "ich") or says they take the drug ("tomei")."""
    return any(w in words.first_person for w in sentence) or has_phrase(sentence, words.self_taking)


Qualification = Literal["healthcare professional", "carer", "relative", "spouse", "partner", "friend"]
_RELATIONS: dict[str, Qualification] = {
    "husband": "spouse",
    "wife": "spouse",
    "partner": "partner",
    "friend": "friend",
}


def reporter_qualification(
    folded_sentences: list[str],
    patient: str | None,
    words: PersonWords | None = None,
    tokens: list[list[str]] | None = None,
) -> Qualification | None:
    """What the reporter is, when the patient is someone else (`patient` from `find_patient`).

    A healthcare professional when they say they are one (pharmacist, nurse, doctor ...; "soy
    farmacéutica", "je suis infirmier") or call the patient "my patient" ("mi paciente"); a
    relative, spouse, partner or friend when the patient is theirs ("my mum", "my husband"); a
    carer when they say they look after people as a lay person ("cuido a", "ich bin
    Altenpflegerin"); None when the patient is the reporter, or when the text does not say.
    `words`, `tokens`: as for `find_patient`.
    """
    if patient in (None, "reporter"):
        return None
    words = words or english_words()
    sentences = _sentence_words(folded_sentences, tokens)
    if _is_professional(sentences, words):
        return "healthcare professional"
    if patient != "patient":
        return _RELATIONS.get(patient, "relative")
    if _is_lay_carer(sentences, words):
        return "carer"
    if _has_own_patient(folded_sentences, sentences, words):
        return "healthcare professional"
    return None


def _has_own_patient(folded_sentences: list[str], sentences: list[list[str]], words: PersonWords) -> bool:
    """The reporter calls someone their patient ("my patient", "una paciente mía"): a clinician."""
    return bool(_OWN_PATIENT.search(" ".join(folded_sentences))) or any(
        has_phrase(ws, words.own_patients) for ws in sentences
    )


def reporter_profession(
    folded_sentences: list[str],
    words: PersonWords | None = None,
    tokens: list[list[str]] | None = None,
    *,
    sign_offs: Sequence[str] = (),
) -> Profession | None:
    """The health profession the reporter says is theirs, whoever the patient is.

    The kind their words name when they say what they are ("soy farmacéutica", "als Hausärztin",
    "as a district nurse": `reporter_qualification`'s healthcare professional); a pharmacist who
    speaks for "our pharmacy"; a physician who signs with a title (`sign_offs`: "Regards, Dr S.
    Mahmood", "Dr Priya Nair <...>"); "other" for one who calls the patient "my patient", whose
    kind the words do not say. None for a lay reporter, a carer included. `words`, `tokens`: as
    for `find_patient`.
    """
    words = words or english_words()
    sentences = _sentence_words(folded_sentences, tokens)
    kind = _professional_kind(sentences, words)
    if kind is not None:
        return kind
    if any(has_phrase(ws, words.own_pharmacies) for ws in sentences):
        return "pharmacist"
    if any(_signed_with_title(line, words.physician_titles) for line in sign_offs):
        return "physician"
    if not _is_lay_carer(sentences, words) and _has_own_patient(folded_sentences, sentences, words):
        return "other"
    return None


def _signed_with_title(line: str, titles: frozenset[str]) -> bool:
    """A sign-off line (at most 12 words) that opens with a title and a name, or has them right
    after its first comma: "Dr Priya Nair", "Regards, Dr S. Mahmood"; not "Dr. Feld's office" nor
    "Dr. (PhD) Ruth Adeyemi"."""
    tokens = [t for t in tokenize(line) if t.text != "."]
    if sum(t.is_word for t in tokens) > 12:
        return False
    comma = next((i for i, t in enumerate(tokens) if t.text == ","), None)
    for at in (0, *(() if comma is None else (comma + 1,))):
        title, name = tokens[at : at + 1], tokens[at + 1 : at + 2]
        if title and name and title[0].text in titles and name[0].is_word and not name[0].text.endswith("'s"):
            return True
    return False


def sign_offs(document: SourceDocument) -> list[str]:
    """The lines where an email's reporter signs: the signature's, the last of their own text, and
    the sender's name."""
    if document.channel != Channel.EMAIL:
        return []
    signature = [line for u in document.units if u.kind == "signature" for line in u.text.splitlines()]
    body = [u for u in document.screened_units if u.kind == "body"]
    last = [line for line in body[-1].text.splitlines() if line.strip()][-1:] if body else []
    names = [document.metadata.get(key, "").partition("<")[0] for key in _REPORTER_KEYS[Channel.EMAIL]]
    return signature + last + [name for name in names if name.strip()]


def patient_sex(folded_text: str, patient: str | None, words: PersonWords | None = None) -> Sex | None:
    """The patient's sex: a relative's from the relation ("madre": mother); else, when the patient
    is the reporter, someone they care for or unknown, the sex the text's words give when they give
    only one ("I'm a 67 year old woman", "una paciente", "ein Patient").

    A word right after a possessive that also names a relative is that relative ("ma femme").
    """
    words = words or english_words()
    sex: Sex | None = (
        "female" if patient in words.female_relatives else "male" if patient in words.male_relatives else None
    )
    if sex is None and patient in (None, "reporter", "patient"):
        female, male = (
            _names_sex(folded_text, words.female, words),
            _names_sex(folded_text, words.male, words),
        )
        sex = "female" if female and not male else "male" if male and not female else None
    return sex


def _names_sex(folded_text: str, patterns: Patterns, words: PersonWords) -> bool:
    for match in _compiled(patterns).finditer(folded_text):
        before = folded_text[max(0, match.start() - 20) : match.start()].split()
        if not (before and before[-1] in words.possessives and match.group(0) in words.relatives):
            return True
    return False


def patient_age(folded_text: str, words: PersonWords | None = None) -> int | None:
    """The patient's age in years: the first the text gives ("67 year old", "tengo 45 años", "ich
    bin 45"), when it is one a person can have; a duration ("for 3 years") is none."""
    words = words or english_words()
    for match in _compiled(words.ages).finditer(folded_text):
        before = folded_text[max(0, match.start() - 20) : match.start()].split()
        if before and before[-1] in words.duration_openers:
            continue  # "on lisinopril for 3 years": how long, not how old
        age = int(next(g for g in match.groups() if g is not None))
        return age if 0 < age < 125 else None
    return None


@cache
def _compiled(patterns: Patterns) -> re.Pattern[str]:
    """`patterns` (context_cues.tsv `*_patterns`) as one regular expression: each phrase as whole
    words (not the end of a hyphenated one: "sage-femme" is no "femme"), "#" a number of up to
    three digits (a group), a space after it also a hyphen or nothing."""
    alternatives = [rf"(?<![\w-]){_regex(pattern)}(?!\w)" for pattern in patterns]
    return re.compile("|".join(alternatives) or r"(?!)")


@dataclass(frozen=True)
class Persons:
    """What a document says of its reporter and patient for the regulatory record."""

    profession: Profession | None
    sex: Sex | None
    age_years: int | None


def read_persons(document: SourceDocument, patient: str | None, language: str | None) -> Persons:
    """The reporter's profession and the patient's sex and age in `document`'s screened text (and
    where the reporter signs), read in `language` (the case's, `CaseFacts.language`; detected when
    None) with the words of its rows; `patient`: who the patient is (`find_patient`)."""
    texts = document_sentences(document)
    if language is None:
        from .reading import document_language

        language = document_language(document, texts)
    words = person_words(language)
    folded_text = fold(document.text)
    return Persons(
        profession=reporter_profession([fold(s) for s in texts], words, sign_offs=sign_offs(document)),
        sex=patient_sex(folded_text, patient, words),
        age_years=patient_age(folded_text, words),
    )
