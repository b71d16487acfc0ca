"""Context of each mention: negation, uncertainty, indication, history, family member.

NegEx-style: trigger words before (or a few after) a mention, with a scope that ends at clause
boundaries. Rules read folded tokens of one sentence; they know nothing of the extractor.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

from .patients import RELATIVES
from .text import Token, tokenize, word_set

Role = Literal["suspect", "indication", "history", "family", "treatment", "concomitant", "other"]

_CLAUSE_BREAKS = frozenset(
    {";", ".", "!", "?", ":", "but", "however", "although", "though", "whereas", "yet"}
)
# Where a negation's scope ends (NegEx termination terms) besides clause breaks.
_SCOPE_ENDS = frozenset(
    {"which", "who", "since", "after", "because", "now", "then", "until", "while", "when", "except"}
)
_NEGATION_WINDOW = 6
_NEGATIONS = word_set(
    "no not never without denies denied deny denying didn't don't doesn't haven't hasn't hadn't "
    "wasn't weren't isn't aren't none nor neither won't wouldn't zero "
    "didnt dont doesnt havent hasnt hadnt wasnt werent isnt arent wouldnt"
)
# After an event phrase that itself opens with a negation ("no sleep", "no appetite"): words that
# make the whole a denial ("no sleep problems", "no appetite issues").
_DENIED_WHEN_FOLLOWED = word_set("problems problem issues issue trouble troubles changes change worries")
# Right before an event: it nearly happened ("my nurse nearly cried", "I almost threw up").
_NEARLY = word_set("nearly almost")
_NEGATION_PHRASES = (
    ("free", "of"),
    ("negative", "for"),
    ("absence", "of"),
    ("ruled", "out"),
    ("rule", "out"),
)
# Negation words that do not negate what follows ("not sure", "never felt so").
_PSEUDO_NEGATIONS = (
    ("not", "only"),
    ("not", "just"),
    ("not", "sure"),
    ("not", "certain"),
    ("no", "doubt"),
    ("no", "idea"),
    ("never", "felt", "so"),
    ("never", "been", "so"),
    ("never", "had", "such"),
)
_POST_NEGATIONS = (
    ("ruled", "out"),
    ("was", "negative"),
    ("were", "negative"),
    ("not", "present"),
    ("free",),  # "seizure free for 4 years"
)

# A drug that does nothing for a condition: "isn't helping", "doesn't really work", "hasn't
# helped", "is not touching it", "isn't doing much", "does nothing for it". The condition is not
# denied ("paracetamol isn't helping my headache": the headache is there).
_NO_EFFECT_NEGATIONS = word_set(
    "not never isn't wasn't aren't weren't doesn't didn't don't hasn't haven't won't"
)
_NO_EFFECT_FILLERS = word_set("really even seem seems seemed to")
_HELPING = word_set("help helps helped helping work works worked working touch touches touched touching")
_DOING = word_set("do does did doing done")
_NOTHING = word_set("nothing little")
# Between a drug and what it does not do: "paracetamol is not helping", "... and it's not working".
_NO_EFFECT_LEAD = word_set(
    "is was are has have just still really also even honestly , which that it it's and"
)

_HYPOTHETICAL = word_set(
    "could might may can possible possibly potential potentially risk risks worried worry afraid "
    "concerned if whether wonder wondering warned warns leaflet sure certain "
    "braced read reading heard hear talks talk warn"
)
# A question to others about what they had ("Has anyone had hair loss from this??") asks, whatever
# its verb says.
_OTHERS = word_set("anyone anybody everyone everybody anyones anyone's")
_HYPOTHETICAL_PHRASES = (("side", "effects"), ("side", "effect"), ("in", "case"), ("is", "it", "normal"))
_EXPERIENCED = word_set(
    "my his her their had having got getting developed experienced experiencing suffering suffered "
    "noticed noticing been felt feeling started starting"
)

_INDICATION = frozenset(["treat", "treats", "treating", "treatment", "against"])
# A verb saying the drug relieved what follows: that is what it was taken for.
_RELIEVING = word_set(
    "cured cures cleared clears fixed fixes sorted helped helps controls controlled relieved relieves "
    "eased eases improved improves calmed treats treated"
)
_INDICATION_PHRASES = (
    ("to", "control"),
    ("to", "manage"),
    ("to", "prevent"),
    ("to", "lower"),
    ("to", "help"),
    ("to", "stop"),
    ("because", "of"),
)
# A verb saying what something did ends a purpose phrase before it: in "ibuprofen for the headache
# caused stomach pain" the stomach pain is not what ibuprofen was for.
_DID = word_set("caused causes causing gave gives made makes making triggered triggers brought brings")
_TAKING = word_set(
    "take takes taking took taken prescribed on using use used started start given injecting inject"
)
_INDICATION_AFTER = word_set(
    "medication medications medicine medicines meds tablet tablets pills pill drug drugs treatment "
    "injection injections jab inhaler"
)

_REACTION_CUES = word_set(
    "caused causing cause causes gave given giving developed developing induced since after worse "
    "worsened worsening new made makes making became become reaction started"
)
_STRONG_HISTORY = (
    ("before", "i", "started"),
    ("before", "starting"),
    ("before", "taking"),
    ("prior", "to"),
    ("history", "of"),
    ("as", "a", "child"),
    ("in", "the", "past"),
    ("used", "to"),
    ("when", "i", "was", "young"),
    ("childhood",),
)
_WEAK_HISTORY = (("years", "ago"), ("year", "ago"), ("months", "ago"), ("previously",), ("long", "ago"))

_POSSESSIVES = frozenset({"my", "our"})
_FIRST_PERSON_WORDS = word_set("i me myself i'm i've i'd we us")  # "my" comes with the relative
_FAMILY_HISTORY = (("family", "history"), ("runs", "in", "the", "family"), ("runs", "in", "my", "family"))
# A baby's reactions are never a family member's history: a baby is exposed in the womb, through
# breast milk or given the drug ("I took sertraline while breastfeeding. My baby was admitted").
EXPOSED_RELATIVES = frozenset({"baby"})
# Outcomes that belong to a baby exposed in the womb: never a family member's unrelated history.
PREGNANCY_OUTCOMES = frozenset({"congenital anomaly", "miscarriage", "stillbirth", "premature birth"})


@dataclass(frozen=True, slots=True)
class Context:
    """What the words around a mention say about it."""

    negated: bool = False
    uncertain: bool = False
    role: Role = "suspect"
    relative: str | None = None  # the family member the clause is about, if any


def clause_bounds(tokens: list[Token], first: int, last: int) -> tuple[int, int]:
    """Token range [start, end) of the clause holding tokens [first, last)."""
    start = first
    while start > 0 and tokens[start - 1].text not in _CLAUSE_BREAKS:
        start -= 1
    end = last
    while end < len(tokens) and tokens[end].text not in _CLAUSE_BREAKS:
        end += 1
    return start, end


# A verb phrase ends where another begins: at a word that opens one ("so", "then", "now", "which",
# ...), or at "and", "or" or a comma followed by a subject or a verb ("... and took Piriton for
# it", "for diabetes and get diarrhoea"), not by a noun listed with the one before ("for my
# headaches and nausea", "metformin and gliclazide for my diabetes").
_PHRASE_OPENERS = word_set("so then now which who since after because until while when therefore")
_SUBJECTS = word_set("i i'm i've i'd i'll he she we they it he's she's we're they're it's")
_PHRASE_VERBS = word_set(
    "take takes taking took taken started start starts starting began begin given gave give got get "
    "gets getting have has had having developed develop develops came come comes went go goes "
    "feel feels felt noticed notice became become ended end woke broke am was were is are been "
    "keep kept stopped stop put needed need used use tried try ate drank still also"
)
_LISTING = frozenset({"and", "or", ",", "&", "/", "plus"})


def opens_phrase(tokens: list[Token], i: int) -> bool:
    """Token i starts a new verb phrase (see _PHRASE_OPENERS and _PHRASE_VERBS)."""
    word = tokens[i].text
    if word in _PHRASE_OPENERS:
        return True
    if word in {"and", "or", ","} and i + 1 < len(tokens):
        following = tokens[i + 1].text
        return following in _SUBJECTS or following in _PHRASE_VERBS or following in _PHRASE_OPENERS
    return False


def phrase_bounds(tokens: list[Token], first: int, last: int) -> tuple[int, int]:
    """Token range [start, end) of the verb phrase holding tokens [first, last): its clause, cut
    where another phrase opens (the opening word belongs to the later phrase)."""
    clause_start, clause_end = clause_bounds(tokens, first, last)
    start = max((i for i in range(clause_start + 1, first) if opens_phrase(tokens, i)), default=clause_start)
    end = next((i for i in range(last, clause_end) if opens_phrase(tokens, i)), clause_end)
    return start, end


def _words(tokens: list[Token], start: int, end: int) -> list[str]:
    return [t.text for t in tokens[start:end]]


def _has_phrase(words: list[str], phrases: tuple[tuple[str, ...], ...]) -> bool:
    return any(_find(words, p) >= 0 for p in phrases)


def _find(words: list[str], phrase: tuple[str, ...], start: int = 0) -> int:
    n = len(phrase)
    for i in range(start, len(words) - n + 1):
        if tuple(words[i : i + n]) == phrase:
            return i
    return -1


def is_negated(tokens: list[Token], first: int, last: int) -> bool:
    """A negation trigger before the span within its scope, or a post-negation just after it."""
    clause_start, clause_end = clause_bounds(tokens, first, last)
    i = first - 1
    seen = 0
    while i >= clause_start and seen < _NEGATION_WINDOW:
        word = tokens[i].text
        if word in _SCOPE_ENDS or (word == "," and i + 1 < first and tokens[i + 1].text in {"and", "so"}):
            break
        following = _words(tokens, i, min(i + 4, first))
        if (
            word in _NEGATIONS
            and not any(tuple(following[: len(p)]) == p for p in _PSEUDO_NEGATIONS)
            and not _not_helping(following)
        ):
            return True
        if any(tuple(following[: len(p)]) == p for p in _NEGATION_PHRASES):
            return True
        if tokens[i].is_word:
            seen += 1
        i -= 1
    after = _words(tokens, last, min(last + 3, clause_end))
    if tokens[first].text in _NEGATIONS and after and after[0] in _DENIED_WHEN_FOLLOWED:
        return True  # "no sleep problems": the phrase "no sleep" is denied as a whole
    return any(tuple(after[: len(p)]) == p for p in _POST_NEGATIONS)


def _not_helping(words: list[str]) -> bool:
    """The words open with a negation of helping or working ("isn't helping", "doesn't really
    work", "not touching")."""
    return _no_effect(words, _HELPING) > 0


def _no_effect(words: list[str], verbs: frozenset[str] = _HELPING | _DOING) -> int:
    """How many words open by saying something has no effect (0: none): a negation of one of
    `verbs` ("isn't helping", "doesn't really work", "isn't doing much") or "does nothing"."""
    if len(words) > 1 and words[0] in _DOING and words[1] in _NOTHING and words[0] in verbs:
        return 2
    if not words or words[0] not in _NO_EFFECT_NEGATIONS:
        return 0
    i = 1
    while i < len(words) and words[i] in _NO_EFFECT_FILLERS:
        i += 1
    return i + 1 if i < len(words) and words[i] in verbs else 0


def _no_effect_span(tokens: list[Token], last: int) -> tuple[int, int] | None:
    """The tokens right after the drug ending at `last`, in its clause, that say it has no effect
    ("paracetamol isn't doing much", "is not helping", "doesn't really work", "does nothing")."""
    end = clause_bounds(tokens, max(last - 1, 0), last)[1]
    words = _words(tokens, last, min(last + 8, end))
    i = 0
    while i < 3 and i < len(words) and words[i] in _NO_EFFECT_LEAD and not _no_effect(words[i:]):
        i += 1
    length = _no_effect(words[i:])
    return (last + i, last + i + length) if length else None


def not_helped_by(
    tokens: list[Token], first: int, last: int, drug: tuple[int, int], drug_tokens: set[int]
) -> bool:
    """The event at tokens [first, last) is a condition that the drug at tokens `drug` is said to
    do nothing for: what the drug is taken for, not a reaction.

    The words right after the drug say it has no effect ("isn't doing much", "isn't helping",
    "hasn't helped", "does nothing for it"); the event is not those words ("doesn't work" is the
    event "drug ineffective"), it is named in the drug's verb phrase ("I've got a bad back and
    paracetamol isn't doing much", "paracetamol isn't helping my headache") or in the clause right
    before the drug's ("my back hurts but co-codamol hasn't helped"), and its clause names no
    other drug and no reaction cue ("since starting", "caused", "new" ...).
    """
    drug_first, drug_last = drug
    span = _no_effect_span(tokens, drug_last)
    if span is None or (first < span[1] and span[0] < last):
        return False
    phrase_start, phrase_end = phrase_bounds(tokens, drug_first, drug_last)
    clause_start, clause_end = clause_bounds(tokens, first, last)
    beside = (phrase_start <= first and last <= phrase_end) or (
        clause_end + 1 == clause_bounds(tokens, drug_first, drug_last)[0]
    )
    other_drug = any(
        i in drug_tokens and not drug_first <= i < drug_last for i in range(clause_start, clause_end)
    )
    cue = any(w in _REACTION_CUES for w in _words(tokens, clause_start, clause_end))
    return beside and not other_drug and not cue


def is_uncertain(tokens: list[Token], first: int, last: int) -> bool:
    """Hypothetical or asked about ("could this cause hair loss?"), unless plainly experienced.

    An event right after a possessive or an experiencing verb ("my rash", "I've been getting
    headaches") occurred, whatever the sentence asks about its cause.
    """
    clause_start, clause_end = clause_bounds(tokens, first, last)
    if first > clause_start and tokens[first - 1].text in _NEARLY:
        return True
    words = _words(tokens, clause_start, first)
    question = clause_end < len(tokens) and tokens[clause_end].text == "?"
    if question and any(w in _OTHERS for w in words):
        return True
    before = _words(tokens, max(clause_start, first - 3), first)
    if any(w in _EXPERIENCED for w in before):
        return False
    clause = _words(tokens, clause_start, clause_end)
    if question and "the" in before:
        return False  # "could it be causing the dizziness?" presupposes the dizziness
    # "is this normal??" asks about what happened; "can it cause hair loss?" asks what could happen
    if question and any(w in _HYPOTHETICAL or w in {"cause", "causes", "does", "do", "will"} for w in clause):
        return True
    after = _words(tokens, last, min(last + 2, clause_end))
    return (
        any(w in _HYPOTHETICAL for w in words)
        or _has_phrase(words, _HYPOTHETICAL_PHRASES)
        or any(w in {"risk", "risks", "prevention"} for w in after)
    )


def _is_indication(tokens: list[Token], first: int, last: int, drug_tokens: set[int]) -> bool:
    clause_start, clause_end = clause_bounds(tokens, first, last)
    if tokens[clause_start].text == "for" and first - clause_start <= 4:
        return True  # a review's "For IBS.", "For period cramps, the ones that ..."
    if any(t.text in _RELIEVING for t in tokens[max(clause_start, first - 5) : first]):
        return True  # "cured my reflux", "it's helped a lot with the pain": what the drug treats
    # "for" and its like count only in the event's own verb phrase: "I take metformin for diabetes
    # and get diarrhoea" names an indication and then a reaction
    phrase_start = phrase_bounds(tokens, first, last)[0]
    did = max((i + 1 for i in range(phrase_start, first) if tokens[i].text in _DID), default=phrase_start)
    window_start = max(did, first - 5)
    before = _words(tokens, window_start, first)
    earlier = range(clause_start, first)
    drug_or_taking_before = any(i in drug_tokens or tokens[i].text in _TAKING for i in earlier)
    if "for" in before and drug_or_taking_before:
        return True
    if any(w in _INDICATION for w in before) or _has_phrase(before, _INDICATION_PHRASES):
        return drug_or_taking_before or any(w in _INDICATION for w in before)
    after = _words(tokens, last, min(last + 2, clause_end))
    return bool(after) and after[0] in _INDICATION_AFTER


def _names_purpose(tokens: list[Token], first: int, drug_tokens: set[int]) -> bool:
    """The mention at `first` follows "for" after another drug or a taking word of its clause: it
    says what that drug is for ("paracetamol for pain relief", "I take it for pain relief")."""
    clause_start = clause_bounds(tokens, first, first + 1)[0]
    i = first - 1
    while i >= clause_start and tokens[i].text in _DETERMINERS:
        i -= 1
    return (
        i > clause_start
        and tokens[i].text == "for"
        and any(j in drug_tokens or tokens[j].text in _TAKING for j in range(clause_start, i))
    )


def _relative_before(tokens: list[Token], clause_start: int, first: int) -> str | None:
    words = _words(tokens, clause_start, first)
    for i in range(len(words) - 1, 0, -1):
        if words[i] in RELATIVES and words[i - 1] in _POSSESSIVES:
            # "my husband took me to hospital because I fainted": the event is mine again
            if any(w in {"i", "me", "i'm", "i've", "i'd"} for w in words[i + 1 :]):
                return None
            return RELATIVES[words[i]]
    return None


def mention_context(
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
    negated = is_negated(tokens, first, last)
    if kind == "DRUG":
        # "my dad went to A&E and they gave him vitamin K": his drug, not a suspect of this case;
        # "I gave my son Calpol" names the reporter, and the son may be the patient the finder missed
        clause_start, clause_end = clause_bounds(tokens, first, last)
        relative = _relative_before(tokens, clause_start, first)
        if (
            relative is not None
            and relative != patient_relative
            and not any(t.text in _FIRST_PERSON_WORDS for t in tokens[clause_start:clause_end])
        ):
            return Context(negated=negated, role="family", relative=relative)
        if "class" in flags and _names_purpose(tokens, first, drug_tokens or set()):
            return Context(negated=negated, role="other")
        return Context(negated=negated, role="suspect")
    uncertain = is_uncertain(tokens, first, last)
    clause_start, clause_end = clause_bounds(tokens, first, last)
    clause = _words(tokens, clause_start, clause_end)
    relative = _relative_before(tokens, clause_start, first)
    role: Role = "suspect"
    reaction_cue = any(w in _REACTION_CUES for w in clause)
    has_drug = any(clause_start <= i < clause_end for i in (drug_tokens or set()))
    if _has_phrase(clause, _FAMILY_HISTORY) or (
        relative is not None
        and relative != patient_relative
        and relative not in EXPOSED_RELATIVES
        and normalized not in PREGNANCY_OUTCOMES
    ):
        role = "family"
    elif _is_indication(tokens, first, last, drug_tokens or set()):
        role = "indication"
    elif (
        _has_phrase(clause, _STRONG_HISTORY)
        or (_has_phrase(clause, _WEAK_HISTORY) and not has_drug and not reaction_cue)
        or ("cond" in flags and not reaction_cue)
    ):
        role = "history"
    return Context(negated=negated, uncertain=uncertain, role=role, relative=relative)


# A drug given or taken to treat a reaction (pv.intelligence.assess decides across sentences; these
# read one sentence). Words that say a drug was given, looked for up to 4 words before it.
_GIVING = word_set(
    "gave give gives given giving administered administer injected inject received receive got get "
    "needed need used use treated"
)
_GIVING_WINDOW = 4
# "naloxone was given", "adrenaline was administered": the same, after the drug.
_GIVEN_AFTER = word_set("given administered injected")
# What a drug given "to ..." does for a reaction.
_TREATING = word_set(
    "treat treats treated reverse reverses counteract counter ease calm settle soothe relieve stop "
    "help control manage bring clear"
)
_DETERMINERS = word_set("the a an my his her their our its some this that these those")
_PRONOUNS = word_set("it this that them these those")
# "for two days", "for a week": how long, not what for.
_DURATIONS = word_set(
    "day days week weeks month months year years hour hours night nights minute minutes while now "
    "ages bit couple few several one two three four five six seven eight nine ten rest"
)
# A drug that replaces the suspect ("switched me to Crestor instead") is a new suspect, not a treatment.
_REPLACING = word_set("instead switched switch switching changed change changing replaced alternative")
_EMERGENCY_CARE = (
    ("a", "&", "e"),
    ("a", "and", "e"),
    ("accident", "and", "emergency"),
    ("emergency",),
    ("the", "er"),
    ("the", "ed"),
    ("casualty",),
    ("urgent", "care"),
    ("ambulance",),
    ("paramedic",),
    ("paramedics",),
    ("hospital",),
    ("intensive", "care"),
    ("icu",),
    ("999",),
    ("911",),
)
# The reporter blames the drug: "after the vitamin K my rash got worse", "reaction to the cetirizine".
_CAUSE_BEFORE = word_set("after from since")
_REACTING = word_set("reaction reactions allergic allergy reacted reacting sensitive intolerant intolerance")
_CAUSE_AFTER = word_set(
    "caused causing cause causes made makes making triggered triggering worse worsened worsening"
)
_THE_ONE = word_set("the this that these those")
_RELIEF = word_set(
    "better helped helps helping eased settled stop stops stopped cleared improved relief worked calmed"
)


def in_emergency_care(tokens: list[Token]) -> bool:
    """The sentence is about emergency or hospital care (A&E, paramedics, an ambulance ...)."""
    return _has_phrase([t.text for t in tokens], _EMERGENCY_CARE)


def is_given(tokens: list[Token], first: int, last: int) -> bool:
    """A word before the drug in its clause says it was given or used ("they gave me vitamin K",
    "got an adrenaline shot", "treated with"), or one right after it ("naloxone was given")."""
    clause_start, clause_end = clause_bounds(tokens, first, last)
    seen = 0
    i = first - 1
    while i >= clause_start and seen < _GIVING_WINDOW:
        if tokens[i].text in _GIVING:
            return True
        seen += tokens[i].is_word
        i -= 1
    after = _words(tokens, last, min(last + 3, clause_end))
    return any(w in _GIVEN_AFTER for w in after)


def purpose(
    tokens: list[Token],
    first: int,
    last: int,
    treated: set[int],
    drug_tokens: set[int] | frozenset[int] = frozenset(),
) -> bool | None:
    """What the drug was for, when its own verb phrase says: True when for a treated reaction (its
    tokens in `treated`) or a pronoun standing for one ("for the rash", "for it", "to stop the
    itching"), False when for something else ("for my stomach", "to control my blood pressure"),
    None when the phrase does not say.

    The phrase is the drug's own: it ends where another verb phrase opens ("I got a rash after
    starting lisinopril and took Piriton for it": Piriton's, not lisinopril's) or at another drug
    (`drug_tokens`) unless the two are listed together ("metformin and gliclazide for my diabetes").
    """
    end = phrase_bounds(tokens, first, last)[1]
    i, seen, listed = last, 0, True
    while i < end and seen < 6:
        if i in drug_tokens:
            if not listed:
                return None  # "ibuprofen for ... lisinopril": a purpose after it is the other drug's
            while i < end and i in drug_tokens:
                i += 1
            continue
        word = tokens[i].text
        listed = listed and (word in _LISTING or word in _DETERMINERS)
        seen += 1
        if word == "to" and i + 1 < end and tokens[i + 1].text in _TREATING:
            return _what_for(tokens, i + 2, end, treated, _OBJECT_FILLERS, True)
        if word == "for":
            what_for = _what_for(tokens, i + 1, end, treated, frozenset(), None)
            if what_for is not None:
                return what_for
        i += 1
    return None


# Between "to ease" and what it eases: "to help with the nausea", "to calm it down", "to help me".
_OBJECT_FILLERS = word_set("with me him her us down up off")
# After "for", words that say how long or when, not what for ("for two weeks", "for the first time").
_NOT_PURPOSES = word_set("first second third last next long ever free good sure")


def _what_for(
    tokens: list[Token], j: int, end: int, treated: set[int], fillers: frozenset[str], bare: bool | None
) -> bool | None:
    """Read what a "for"/"to ease" phrase names from token j: a treated reaction or a pronoun
    (True), a duration (None) or something else (False); `bare` when it names nothing."""
    start = j
    while j < end and (tokens[j].text in _DETERMINERS or tokens[j].text in fillers):
        j += 1
    if j >= end:
        if j > start and tokens[j - 1].text in _PRONOUNS:  # "for this", "to stop that"
            return True
        return bare
    word = tokens[j].text
    if word in _DURATIONS or word in _NOT_PURPOSES or word.isdigit():
        return None
    return word in _PRONOUNS or any(k in treated for k in range(j, min(j + 3, end)))


def named_as_treated(tokens: list[Token], first: int) -> bool:
    """The event at `first` is named, as one already spoken of, as what something was for: "for the
    swelling", "to stop the itching", "to help with this rash" (not "for my diabetes")."""
    j = first - 1
    if j < 1 or tokens[j].text not in {"the", "this", "that"}:
        return False
    j -= 1
    while j > 0 and tokens[j].text in _OBJECT_FILLERS:
        j -= 1
    word = tokens[j].text
    return word == "for" or (word in _TREATING and j > 0 and tokens[j - 1].text == "to")


# What caused an event, named right after it: "the headache it gave me", "the rash lisinopril
# causes", "the swelling from the amlodipine".
_CAUSERS = word_set("it it's they they've this")
_CAUSING = word_set(
    "gave gives give giving given caused causes causing cause triggered triggers brought brings"
)
_AUXILIARIES = word_set("is was has had have 's keeps kept always seems seemed must")


def put_down_to_cause(tokens: list[Token], last: int, drug_tokens: set[int]) -> str | None:
    """What the words right after the event ending at `last` say caused it: "drug" for a drug of
    `drug_tokens` ("the rash lisinopril causes", "the rash from the lisinopril"), "pronoun" for it
    or they ("the headache it gave me", "the nausea from it"), None when they do not say."""
    end = clause_bounds(tokens, max(last - 1, 0), last)[1]
    i = last
    if i < end and tokens[i].text in {"that", "which"}:
        i += 1  # "the headache that it gave me"
    via = i < end and tokens[i].text in {"from", "by"}
    i += via
    while i < end and tokens[i].text in _DETERMINERS and i not in drug_tokens:
        i += 1
    if i < end and i in drug_tokens:
        causer = "drug"
        while i < end and i in drug_tokens:
            i += 1
    elif i < end and tokens[i].text in _CAUSERS:
        causer, i = "pronoun", i + 1
    else:
        return None
    if via:
        return causer
    while i < end and tokens[i].text in _AUXILIARIES:
        i += 1
    return causer if i < end and tokens[i].text in _CAUSING else None


# A sentence that opens by going back to what the one before told: "Since then I've been drowsy".
_BACK_REFERENCES = (
    ("since", "then"),
    ("ever", "since"),
    ("since", "that"),
    ("after", "that"),
    ("afterwards",),
    ("after", "it"),
    ("after", "taking", "it"),
    ("after", "having", "it"),
    ("since", "taking", "it"),
    ("since", "having", "it"),
    ("since", "starting", "it"),
    ("since", "i", "took", "it"),
    ("since", "i", "had", "it"),
    ("since", "i", "started", "it"),
    ("from", "then", "on"),
    ("soon", "after"),
    ("shortly", "after"),
)


def refers_back(tokens: list[Token]) -> bool:
    """The sentence opens with "since then", "ever since", "after that" or the like (after "and"
    or "but")."""
    words = [t.text for t in tokens if t.is_word]
    while words and words[0] in {"and", "but", "so"}:
        words = words[1:]
    return any(tuple(words[: len(p)]) == p for p in _BACK_REFERENCES)


# "started lisinopril", "since starting it", "my new tablets", "the GP put me on": a drug the
# reporter began, looked for up to 3 words before it.
_STARTING = word_set("started starting start starts began begun new newly put switched")


def is_started(tokens: list[Token], first: int, last: int) -> bool:
    """A word just before the drug in its clause says the reporter started it or it is new."""
    clause_start = clause_bounds(tokens, first, last)[0]
    seen = 0
    i = first - 1
    while i >= clause_start and seen < 3:
        if tokens[i].text in _STARTING:
            return True
        seen += tokens[i].is_word
        i -= 1
    return False


def is_replacing(tokens: list[Token], first: int, last: int) -> bool:
    """The drug's clause says it replaced another ("switched me to", "instead")."""
    clause_start, clause_end = clause_bounds(tokens, first, last)
    return any(t.text in _REPLACING for t in tokens[clause_start:clause_end])


def is_blamed(tokens: list[Token], first: int, last: int) -> bool:
    """The words around the drug say it caused something: "after/from/since the X", "reaction to
    X", "X made it worse", "X caused ...", unless its clause says it helped."""
    clause_start, clause_end = clause_bounds(tokens, first, last)
    clause = _words(tokens, clause_start, clause_end)
    i = first - 1
    while i >= clause_start and tokens[i].text in _DETERMINERS:
        i -= 1
    if i >= clause_start and tokens[i].text in _CAUSE_BEFORE:
        return True
    if (
        i >= clause_start
        and tokens[i].text == "to"
        and any(w in _REACTING for w in _words(tokens, max(clause_start, i - 3), i))
    ):
        return True
    after = _words(tokens, last, min(last + 6, clause_end))
    # "ibuprofen for the headaches it causes": what follows "for the" is what it was taken for, and
    # the cause named there is another's
    purpose_at = next(
        (k for k in range(len(after) - 1) if after[k] == "for" and after[k + 1] in _THE_ONE), len(after)
    )
    after = after[:purpose_at]
    return any(w in _CAUSE_AFTER for w in after) and not any(w in _RELIEF for w in clause)


def worsening(tokens: list[Token], first: int, last: int) -> bool:
    """The clause of a reaction says it got worse or spread ("my rash got worse")."""
    clause_start, clause_end = clause_bounds(tokens, first, last)
    return any(
        t.text in {"worse", "worsened", "worsening", "spread", "spreading", "flared", "again"}
        for t in tokens[clause_start:clause_end]
    )


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
