"""Who the patient is and who reports: the patient and reporter rules of case intelligence.

`find_patient` (the reporter, a relative, someone the reporter cares for), `reporter_qualification`
(a healthcare professional, a carer, a relative ...), and whether the reporter and the patient are
identifiable (two of the four elements of a valid case, ICH E2D).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pv.models import Channel, SourceDocument

from .text import Phrases, fold, has_phrase, starts_with, tokenize

if TYPE_CHECKING:
    from .context import Cues

RELATIVES = {
    "mother": "mother",
    "mum": "mother",
    "mom": "mother",
    "mam": "mother",
    "mummy": "mother",
    "father": "father",
    "dad": "father",
    "husband": "husband",
    "wife": "wife",
    "partner": "partner",
    "son": "son",
    "daughter": "daughter",
    "brother": "brother",
    "sister": "sister",
    "grandmother": "grandmother",
    "grandma": "grandmother",
    "nan": "grandmother",
    "nana": "grandmother",
    "granny": "grandmother",
    "grandfather": "grandfather",
    "grandad": "grandfather",
    "granddad": "grandfather",
    "grandpa": "grandfather",
    "aunt": "aunt",
    "auntie": "aunt",
    "uncle": "uncle",
    "cousin": "cousin",
    "baby": "baby",
    "child": "child",
    "kid": "child",
    "boyfriend": "partner",
    "girlfriend": "partner",
    "friend": "friend",
    "fiance": "partner",
    "niece": "niece",
    "nephew": "nephew",
}

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
_RELATIVE_TAKING = re.compile(
    rf"\b(?:my|our)\s+({'|'.join(RELATIVES)})\s+(?:is|was|has been|had been)?\s*"
    r"(?:on|taking|takes|took|started|starts|prescribed|given|put on|using|uses|injects|injected)\b"
)
_PRONOUN_TAKING = re.compile(
    r"\b(?:he|she)\s+(?:is|was|has been|had been)?\s*"
    r"(?:on|taking|takes|took|started|starts|prescribed|given|put on|using|uses|injects|injected)\b"
)
_RELATIVE_NAMED = re.compile(rf"\b(?:my|our)\s+({'|'.join(RELATIVES)})\b")
_FIRST_PERSON = re.compile(r"\b(?:i|me|my|i'm|i've|i'd|myself)\b")


@dataclass(frozen=True)
class PersonWords:
    """The patient and reporter rules' words for a document's language (context_cues.tsv: the
    English rows and those of the language): possessives ("mi", "meine"), relatives ("madre":
    mother), the reporter's own words ("yo", "ich"), how a reporter says what they are ("soy",
    "je suis", "als") and the professions and carer words that follow, and, for the languages
    patients.py's regular expressions do not read, someone cared for ("una paciente mía"), a third
    person ("ella") and the reporter taking the drug themselves ("tomo")."""

    language: str
    possessives: frozenset[str]
    relatives: dict[str, str]
    first_person: frozenset[str]
    self_descriptions: Phrases = ()
    articles: frozenset[str] = frozenset()
    as_words: Phrases = ()
    professionals: Phrases = ()
    carers: Phrases = ()
    caring: Phrases = ()
    own_patients: Phrases = ()
    cared_for: Phrases = ()
    third_persons: frozenset[str] = frozenset()
    self_taking: Phrases = ()

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
            as_words=cues.as_phrases,
            professionals=cues.professional_phrases,
            carers=cues.carer_phrases,
            caring=cues.caring_phrases,
            own_patients=cues.own_patient_phrases,
            cared_for=cues.cared_for_phrases,
            third_persons=cues.third_persons,
            self_taking=cues.self_taking_phrases,
        )


def english_words() -> PersonWords:
    """The English rows' words (a document read in English)."""
    from .context import cues

    return PersonWords.of(cues("en"), "en")


def _says_they_are(sentences: list[list[str]], words: PersonWords, what: Phrases) -> bool:
    """The reporter says they are one of `what`: "I'm a nurse", "soy enfermera", "je suis la
    pharmacienne", "als Hausärztin" (a self-description, then maybe an article and one more word;
    or "as" right before it)."""
    for ws in sentences:
        for i in range(len(ws)):
            for phrase in words.self_descriptions:
                if tuple(ws[i : i + len(phrase)]) != phrase:
                    continue
                after = ws[i + len(phrase) :]
                if starts_with(after, what) or (
                    after[:1]
                    and after[0] in words.articles
                    and (starts_with(after[1:], what) or starts_with(after[2:], what))
                ):
                    return True
            if any(
                tuple(ws[i : i + len(p)]) == p and starts_with(ws[i + len(p) :], what) for p in words.as_words
            ):
                return True
    return False


def _is_professional(sentences: list[list[str]], words: PersonWords) -> bool:
    return _says_they_are(sentences, words, words.professionals)


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
    themselves. A relative is the patient when named in a sentence that also names a drug ("my mum
    was put on warfarin"); otherwise a first-person report is about the reporter. `words`: the
    words of the document's language (English when not given); `tokens`: the folded sentences'
    words, when the caller has them.
    """
    words = words or english_words()
    sentences = _sentence_words(folded_sentences, tokens)
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
    taking = _RELATIVE_TAKING.search(text)
    if taking:
        return RELATIVES[taking.group(1)]
    pronoun = _PRONOUN_TAKING.search(text)
    if pronoun:  # "my husband ... He is taking Eliquis": the last relative named before
        named = [m.group(1) for m in _RELATIVE_NAMED.finditer(text, 0, pronoun.start())]
        if named:
            return RELATIVES[named[-1]]
    first_person = {i for i in drug_sentences if re.search(r"\b(?:i|i'm|i've|i'd)\b", folded_sentences[i])}
    # "my mum told me to stop the ibuprofen I take": the reporter takes it; and so, in "My dad
    # went to A&E and they gave him vitamin K. I take warfarin.", the dad's drug is his history.
    if not first_person:
        for i in sorted(drug_sentences):
            for match in re.finditer(r"\b(?:my|our)\s+([a-z]+)", folded_sentences[i]):
                if match.group(1) in RELATIVES:
                    return RELATIVES[match.group(1)]
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


def _speaks_of_another(folded: str, sentence: list[str], words: PersonWords) -> bool:
    """A sentence about a third person ("he", "ella", "er") who takes the drug, not the reporter."""
    third = _THIRD_PERSON.search(folded) is not None or any(w in words.third_persons for w in sentence)
    return third and not (_FIRST_PERSON_TAKING.search(folded) or has_phrase(sentence, words.self_taking))


def _relative_named(sentences: list[list[str]], drug_sentences: set[int], words: PersonWords) -> str | None:
    """In another language: the reporter when a sentence naming a drug speaks in the first person
    ("yo tomo"), else the relative a possessive names in one ("mi madre toma", "unser Sohn nimmt"),
    else the reporter when any sentence speaks in the first person."""
    with_drug = [sentences[i] for i in sorted(drug_sentences)]
    if any(w in words.first_person for ws in with_drug for w in ws):
        return "reporter"
    for ws in with_drug:
        for before, word in itertools.pairwise(ws):
            if before in words.possessives and word in words.relatives:
                return words.relatives[word]
    return "reporter" if any(w in words.first_person for ws in sentences for w in ws) else None


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
    if _OWN_PATIENT.search(" ".join(folded_sentences)) or any(
        has_phrase(ws, words.own_patients) for ws in sentences
    ):
        return "healthcare professional"
    return None
