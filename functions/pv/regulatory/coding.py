"""Coding a reaction as reported to the closest current MedDRA lowest-level term.

Steps, first hit wins: the exact name (case, accents and punctuation folded); a lexical variant
(stop words dropped, plurals singular, British spelling American, word order ignored); a small
synonym step (lay words for common clinical ones, tried through the same two lookups); then, when
a phrase mapper is given, the standard terms nearest in meaning to the words, each looked up the
same way. A key shared by current LLTs of different preferred terms is ambiguous, and so is a
match on a non-current LLT only (its PT's current LLTs are offered): both are flagged for the
reviewer with the candidates, like a verbatim nothing matches (uncoded). Nothing here depends on
any particular term: the dictionary is the user's own release.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from pv.regulatory.meddra import LowestLevelTerm, MeddraRelease
from pv.regulatory.models import CodingMethod, EventCoding, MeddraTerm

# The phrase mapper seam (case intelligence's embedding endpoint): for each phrase, the standard
# terms nearest in meaning, best first, with a similarity score. It raises NearestTermsError when
# it cannot answer: the reactions it was asked about stay uncoded, flagged for the reviewer.
NearestTerms = Callable[[list[str]], list[list[tuple[str, float]]]]


class NearestTermsError(RuntimeError):
    """The phrase mapper did not answer (the endpoint failed or broke its contract)."""


NO_MAPPER_NOTE = "no term of the release matches lexically, and the phrase mapper did not answer"

EMBEDDING_MIN_SCORE = 0.75
EMBEDDING_TIE_MARGIN = 0.02
MAX_CANDIDATES = 5

_STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "in",
        "on",
        "at",
        "to",
        "from",
        "with",
        "by",
        "for",
        "my",
        "his",
        "her",
        "their",
        "our",
        "your",
        "its",
        "me",
        "him",
        "them",
        "some",
    ]
)
# British spellings as American ones, word by word (prefixes and fragments, in order).
_SPELLING = (
    ("oesophag", "esophag"),
    ("oedem", "edem"),
    ("oestr", "estr"),
    ("haem", "hem"),
    ("aemia", "emia"),
    ("paed", "ped"),
    ("diarrhoea", "diarrhea"),
    ("orrhoea", "orrhea"),
    ("tumour", "tumor"),
    ("colour", "color"),
    ("behaviour", "behavior"),
    ("foetal", "fetal"),
    ("caesar", "cesar"),
    ("ischaem", "ischem"),
    ("anaesth", "anesth"),
    ("leukaem", "leukem"),
    ("litre", "liter"),
)
_ISE = re.compile(r"(?<=[a-z]{3})is(e|ed|es|ing|ation)$")
# Lay words and phrases for common clinical ones (tried after the exact and variant lookups).
_SYNONYMS = {
    "throwing up": "vomiting",
    "threw up": "vomiting",
    "being sick": "vomiting",
    "feeling sick": "nausea",
    "sick to my stomach": "nausea",
    "tummy ache": "abdominal pain",
    "stomach ache": "abdominal pain",
    "belly ache": "abdominal pain",
    "heart attack": "myocardial infarction",
    "high blood pressure": "hypertension",
    "low blood pressure": "hypotension",
    "nose bleed": "epistaxis",
    "nosebleed": "epistaxis",
    "hives": "urticaria",
    "itching": "pruritus",
    "itchy": "pruritus",
    "dizzy": "dizziness",
    "tiredness": "fatigue",
    "tired": "fatigue",
    "hair loss": "alopecia",
    "fits": "seizure",
    "passed out": "syncope",
    "fainted": "syncope",
    "fainting": "syncope",
    "runny nose": "rhinorrhoea",
    "short of breath": "dyspnoea",
    "shortness of breath": "dyspnoea",
    "breathlessness": "dyspnoea",
    "sleeplessness": "insomnia",
    "cannot sleep": "insomnia",
    "swollen": "swelling",
    "bruises": "bruising",
}


def fold(text: str) -> str:
    """Lowercase, accents removed, punctuation as spaces, whitespace collapsed."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", plain).split())


def _singular(word: str) -> str:
    """A key shared by a word's singular and plural ("rash"/"rashes", "headache"/"headaches"):
    a final s, then a final e, dropped (not from -ss, -us, -is words); -ies as -y."""
    if len(word) <= 3 or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    word = word.removesuffix("s")
    return word[:-1] if word.endswith("e") and len(word) > 4 else word


def _american(word: str) -> str:
    for british, american in _SPELLING:
        word = word.replace(british, american)
    return _ISE.sub(lambda m: "iz" + m.group(1), word)


def variant_key(text: str) -> str:
    """The lexical variant key: folded words, stop words dropped, singular, American, sorted."""
    words = [_american(_singular(w)) for w in fold(text).split() if w not in _STOP_WORDS]
    return " ".join(sorted(words))


def synonyms(text: str) -> list[str]:
    """The text with each lay phrase it contains replaced by its clinical word (none if none)."""
    folded = fold(text)
    found = []
    for lay, clinical in _SYNONYMS.items():
        replaced = re.sub(rf"\b{re.escape(lay)}\b", clinical, folded)
        if replaced != folded:
            found.append(replaced)
    return found


@dataclass
class _Match:
    terms: list[MeddraTerm]
    ambiguous: bool
    note: str | None = None


@dataclass
class MeddraCoder:
    """Codes reactions against one release (indexes built once, at construction)."""

    release: MeddraRelease
    nearest_terms: NearestTerms | None = None
    _exact: dict[str, list[LowestLevelTerm]] = field(init=False, repr=False)
    _variant: dict[str, list[LowestLevelTerm]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._exact, self._variant = defaultdict(list), defaultdict(list)
        for llt in self.release.llts.values():
            if llt.pt_code not in self.release.pts:
                continue
            self._exact[fold(llt.name)].append(llt)
            self._variant[variant_key(llt.name)].append(llt)

    @property
    def version(self) -> str:
        return self.release.version

    def code(self, event: str, verbatims: Sequence[str] = ()) -> EventCoding:
        """Code one reaction: its words as reported first, then the normalized event name."""
        return self.code_many([(event, verbatims)])[0]

    def code_many(self, events: Sequence[tuple[str, Sequence[str]]]) -> list[EventCoding]:
        """Code several reactions; the phrase mapper, if any, is asked once for all that need it."""
        results: list[EventCoding | None] = []
        pending: list[int] = []
        for i, (event, verbatims) in enumerate(events):
            coding = self._lexical(event, verbatims)
            results.append(coding)
            if coding is None:
                pending.append(i)
        if pending and self.nearest_terms is not None:
            phrases = [_phrases(*events[i])[0] for i in pending]
            try:
                answers = self.nearest_terms(phrases)
            except NearestTermsError:
                for i in pending:
                    results[i] = _uncoded(*events[i], note=NO_MAPPER_NOTE)
            else:
                for i, nearest in zip(pending, answers, strict=True):
                    results[i] = self._from_nearest(*events[i], nearest)
        return [
            r if r is not None else _uncoded(event, verbatims)
            for r, (event, verbatims) in zip(results, events, strict=True)
        ]

    def _lexical(self, event: str, verbatims: Sequence[str]) -> EventCoding | None:
        phrases = _phrases(event, verbatims)
        verbatim = phrases[0]
        steps: list[tuple[CodingMethod, list[str]]] = [
            ("exact", phrases),
            ("variant", phrases),
            ("synonym", [s for p in phrases for s in synonyms(p)]),
        ]
        for method, texts in steps:
            for text in texts:
                match = self._lookup(text, variants=method != "exact")
                if match is not None:
                    return _coding(event, verbatim, method, match)
        return None

    def _lookup(self, text: str, *, variants: bool) -> _Match | None:
        index, key = (self._variant, variant_key(text)) if variants else (self._exact, fold(text))
        hits = index.get(key, []) if key else []
        if not hits:
            return None
        current = [t for t in hits if t.current]
        if not current:
            # Only non-current LLTs carry these words: offer their PTs' current LLTs.
            offered = _unique(
                self._term(t.code) for h in hits for t in self.release.current_llts_of(h.pt_code)
            )
            return _Match(offered, ambiguous=True, note="matches a non-current LLT only")
        by_pt: dict[str, list[LowestLevelTerm]] = defaultdict(list)
        for t in current:
            by_pt[t.pt_code].append(t)
        if len(by_pt) > 1:
            return _Match(_unique(self._term(t.code) for t in current), ambiguous=True, note="several PTs")
        # One PT: the LLT written as the text if there is one, else the PT's own, else the lowest code.
        pt_code = next(iter(by_pt))
        best = sorted(current, key=lambda t: (t.name.lower() != text.lower(), t.code != pt_code, t.code))[0]
        return _Match([self._term(best.code)], ambiguous=False)

    def _term(self, llt_code: str) -> MeddraTerm:
        term = self.release.term(llt_code)
        assert term is not None  # indexed LLTs all have their PT in the release
        return term

    def _from_nearest(
        self, event: str, verbatims: Sequence[str], nearest: list[tuple[str, float]]
    ) -> EventCoding | None:
        verbatim = _phrases(event, verbatims)[0]
        scored: list[tuple[float, _Match]] = []
        for term, score in nearest:
            if score < EMBEDDING_MIN_SCORE:
                continue
            match = self._lookup(term, variants=False) or self._lookup(term, variants=True)
            if match is not None:
                scored.append((score, match))
        if not scored:
            return None
        best_score, best = max(scored, key=lambda s: s[0])
        close = [m for s, m in scored if best_score - s <= EMBEDDING_TIE_MARGIN]
        pts = {t.pt_code for m in close for t in m.terms}
        if len(pts) > 1 or best.ambiguous:
            merged = _Match(
                _unique(t for m in close for t in m.terms), ambiguous=True, note="nearest terms disagree"
            )
            return _coding(event, verbatim, "embedding", merged)
        return _coding(event, verbatim, "embedding", best)


def _phrases(event: str, verbatims: Sequence[str]) -> list[str]:
    phrases = [v for v in verbatims if v and v.strip()]
    return list(dict.fromkeys([*phrases, event])) if event else phrases


def _unique(terms: Iterable[MeddraTerm]) -> list[MeddraTerm]:
    return list({t.llt_code: t for t in terms}.values())[:MAX_CANDIDATES]


def _coding(event: str, verbatim: str, method: CodingMethod, match: _Match) -> EventCoding:
    if match.ambiguous:
        return EventCoding(
            event=event,
            verbatim=verbatim,
            status="ambiguous",
            method=method,
            candidates=match.terms,
            note=match.note,
        )
    return EventCoding(event=event, verbatim=verbatim, status="coded", method=method, term=match.terms[0])


def _uncoded(
    event: str, verbatims: Sequence[str], note: str = "no term of the release matches"
) -> EventCoding:
    verbatim = _phrases(event, verbatims)[0]
    return EventCoding(event=event, verbatim=verbatim, status="uncoded", note=note)


NO_DICTIONARY_NOTE = "no MedDRA release configured: reactions are uncoded verbatims"


def uncoded_without_dictionary(events: Sequence[tuple[str, Sequence[str]]]) -> list[EventCoding]:
    """The reactions as verbatims, marked as not coded because no dictionary is configured."""
    return [
        EventCoding(event=e, verbatim=_phrases(e, v)[0], status="no_dictionary", note=NO_DICTIONARY_NOTE)
        for e, v in events
    ]


def search_terms(release: MeddraRelease, query: str, limit: int = 20) -> list[MeddraTerm]:
    """Current LLTs for the reviewer's term picker: an LLT code, or names holding every word of
    the query as a word start (accents, case and British/American spelling folded); names that
    start with the query first, then shorter names."""
    words = [_american(w) for w in fold(query).split()]
    if not words:
        return []
    exact = release.term(query.strip())
    found: list[tuple[tuple[bool, int, str], MeddraTerm]] = []
    for llt in release.current_llts():
        name = [_american(w) for w in fold(llt.name).split()]
        if all(any(n.startswith(w) for n in name) for w in words):
            term = release.term(llt.code)
            if term is not None:
                found.append(
                    ((not " ".join(name).startswith(" ".join(words)), len(llt.name), llt.name), term)
                )
    found.sort(key=lambda f: f[0])
    terms = [t for _, t in found]
    if exact is not None and release.llts[exact.llt_code].current:
        terms = [exact, *(t for t in terms if t.llt_code != exact.llt_code)]
    return terms[:limit]
