"""The shipped vocabularies (drugs, events) and a longest-match phrase matcher over tokens.

Sources (README "Vocabularies"): drugs.tsv, built by `pv vocabularies` from the package
drug-named-entity-recognition and the project's drug_overrides.tsv; hpo_events.tsv, built from the
Human Phenotype Ontology; events.tsv, the project's own lay lexicon (and the flags: ime, cond,
under:), which wins where both name a phrase; event_patterns.tsv, the lay lexicon's patterns of a
body part or measure and what it does, a few words apart ("my heart keeps skipping", "my ankles
have swollen up", "BP has crept up"). The vocabularies are read on first use, not at import: a
Lambda cold start that never reaches case intelligence pays nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from . import text as text_module
from .text import Token, fold, word_set
from .text import words as token_texts

Kind = Literal["DRUG", "AE"]
# Where a term comes from: "lay" (events.tsv), "hpo" (hpo_events.tsv), "drugs" (the package's names
# in drugs.tsv), "project" (drug_overrides.tsv's rows in drugs.tsv).
Source = Literal["lay", "hpo", "drugs", "project"]
SOURCES: frozenset[Source] = frozenset({"lay", "hpo", "drugs", "project"})

# At most this many words between a pattern's two parts ("my heart [keeps doing a weird] skipping").
PATTERN_GAP = 4
# A pattern never reads across these: "my heart isn't racing" names no palpitations, "my hair's
# stopped falling out" no hair loss.
_PATTERN_STOPS = word_set(
    "no not never nor isn't aren't wasn't weren't doesn't don't didn't hasn't haven't hadn't won't "
    "isnt arent wasnt werent doesnt dont didnt hasnt havent hadnt but and or "
    "stopped stop stops less longer normal fine better"
)
# Misspelling tolerance: words this long may differ from a drug name by this many edits.
_FUZZY_MIN_LENGTH = 6
_FUZZY_TWO_EDITS_LENGTH = 9
# First letters that sound alike, so a misspelling may start with either ("zarelto": Xarelto).
_SOUND_ALIKE = {"x": "z", "z": "x"}
# A drug name heard or typed as two or three words is looked for after these ("the met formin"),
# when the words joined are at least this long.
_JOIN_AFTER = frozenset({"the", "my", "his", "her", "their", "your", "our"})
_JOINED_MIN_LENGTH = 7


@dataclass(frozen=True, slots=True)
class Term:
    """A vocabulary entry: its kind, normalized name and flags ("ime" for events, "class" for drugs)."""

    kind: Kind
    normalized: str
    flags: frozenset[str] = frozenset()
    source: Source = "lay"

    @property
    def broader(self) -> str | None:
        """The term this one is a kind of (flag `under:TERM`: epistaxis under bleeding), if any."""
        return next((f.split(":", 1)[1] for f in self.flags if f.startswith("under:")), None)


@dataclass(frozen=True, slots=True)
class Match:
    """A vocabulary term found in a token list: tokens [first, last) and the character span."""

    term: Term
    first: int
    last: int
    start: int
    end: int
    fuzzy: bool = False


@dataclass(frozen=True, slots=True)
class Pattern:
    """An event said in two parts a few words apart: a body part or measure, then what it does
    ("heart" ... "skipping": palpitations). Each part is a set of phrases (token tuples)."""

    term: Term
    second: frozenset[tuple[str, ...]]
    longest_second: int


@dataclass(frozen=True, slots=True)
class Measure:
    """A measured value that reports an event when it lies in one of `ranges` (low <= value < high):
    "potassium came back 6.4" (hyperkalaemia), "pulse of 38" (bradycardia); `units`, when given,
    must follow the number ("gained 10kg")."""

    term: Term
    ranges: tuple[tuple[float, float], ...]
    units: frozenset[str] = frozenset()


# Number words people write for small counts ("lost two kilos").
_NUMBER_WORDS = {
    w: float(n)
    for n, w in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
            "twenty",
        ]
    )
}
_NUMBER = re.compile(r"(\d+)([a-z]*)")
# At most this many words between a measure and its value ("sugar [went down to] 55").
MEASURE_GAP = 4


@dataclass
class Lexicon:
    """Phrases (as token tuples) to terms, with the longest phrase per first word; and the event
    patterns, by their first part's phrases."""

    phrases: dict[tuple[str, ...], Term] = field(default_factory=dict)
    patterns: dict[tuple[str, ...], list[Pattern]] = field(default_factory=dict)
    # Phrases that hold an event word and name no event ("blister pack", "fall asleep"): read whole
    # and skipped, unless a drug or a longer event starts at the same word ("fell asleep at the wheel").
    not_events: set[tuple[str, ...]] = field(default_factory=set)
    longest_not_event: dict[str, int] = field(default_factory=dict)
    longest_pattern: dict[str, int] = field(default_factory=dict)  # first word -> longest first part
    measures: dict[tuple[str, ...], list[Measure]] = field(default_factory=dict)
    longest_measure: dict[str, int] = field(default_factory=dict)
    longest: dict[str, int] = field(default_factory=dict)
    single_drugs: dict[str, dict[str, Term]] = field(default_factory=dict)  # first letter -> word
    known_words: frozenset[str] = frozenset()
    capitals_only: set[tuple[str, ...]] = field(default_factory=set)  # "aki": only "AKI" matches
    broader: dict[str, str] = field(default_factory=dict)  # event -> the event it is a kind of
    _fuzzy_seen: dict[str, Term | None] = field(default_factory=dict)
    _drug_length_index: dict[str, tuple[int, dict[int, list[tuple[int, str, int]]]]] = field(
        default_factory=dict
    )

    def add(self, phrase: str, term: Term) -> None:
        """Add a phrase of a term; one written in capitals (an abbreviation: "AKI") matches only
        words written in capitals. An event phrase with an apostrophe ("can't sleep") also matches
        as people type it without ("cant sleep")."""
        words = _phrase_words(phrase)
        for variant in _with_twin(words) if term.kind == "AE" else [words]:
            self._add_words(phrase, variant, term)

    def add_pattern(self, first: list[str], second: list[str], term: Term) -> None:
        """Add an event pattern: one of the `first` phrases, at most PATTERN_GAP words, then one of
        the `second` phrases (each with an apostrophe-free twin, as for phrases)."""
        seconds = frozenset(w for p in second for w in _with_twin(_phrase_words(p)))
        pattern = Pattern(term, seconds, max(len(w) for w in seconds))
        for words in (w for p in first for w in _with_twin(_phrase_words(p))):
            self.patterns.setdefault(words, []).append(pattern)
            self.longest_pattern[words[0]] = max(self.longest_pattern.get(words[0], 0), len(words))

    def add_measure(self, names: list[str], measure: Measure) -> None:
        """Add a measure under each of its names (measures.tsv)."""
        for words in (_phrase_words(n) for n in names if n.strip()):
            self.measures.setdefault(words, []).append(measure)
            self.longest_measure[words[0]] = max(self.longest_measure.get(words[0], 0), len(words))

    def _measure_at(self, tokens: list[Token], i: int) -> Match | None:
        """The longest measure name at token i, then its value within MEASURE_GAP words, when the
        value lies in one of the measure's ranges (and the unit follows where one is needed)."""
        for length in range(min(self.longest_measure[tokens[i].text], len(tokens) - i), 0, -1):
            measures = self.measures.get(tuple(t.text for t in tokens[i : i + length]))
            if not measures:
                continue
            j = i + length
            while j < len(tokens) and j <= i + length + MEASURE_GAP:
                value = _value_at(tokens, j)
                if value is not None:
                    number, unit, end = _latest(tokens, value)
                    for m in measures:
                        if (not m.units or unit in m.units) and any(a <= number < b for a, b in m.ranges):
                            # the unit as a word of its own ("10 kg") belongs to the span
                            last = end + 2 if m.units and not tokens[end].text.endswith(unit) else end + 1
                            return Match(m.term, i, last, tokens[i].start, tokens[last - 1].end)
                    return None
                if not (tokens[j].is_word or tokens[j].text in ":=") or tokens[j].text in _PATTERN_STOPS:
                    return None
                j += 1
            return None
        return None

    def _add_words(self, phrase: str, words: tuple[str, ...], term: Term) -> None:
        if not words or words in self.phrases:
            return  # first entry wins: a brand listed under two generics keeps the first
        self.phrases[words] = term
        if phrase.isupper():
            self.capitals_only.add(words)
        if len(words) > self.longest.get(words[0], 0):
            self.longest[words[0]] = len(words)
        if (
            "fuzzy" in term.flags
            and len(words) == 1
            and _spelt_word(words[0])
            and len(words[0]) >= _FUZZY_MIN_LENGTH
        ):
            self.single_drugs.setdefault(words[0][0], {})[words[0]] = term

    def lookup(self, words: tuple[str, ...], *, in_capitals: bool | None = None) -> Term | None:
        """The term of a phrase (folded words), also accepting a plural last word ("headaches",
        "rashes"). `in_capitals`: whether the words were written in capitals; when False, a phrase
        that matches only in capitals ("AKI") does not match. None: not known, every phrase may."""
        keys = [words]
        if len(words[-1]) > 3 and words[-1].endswith("s"):
            stem = words[-1][:-2] if words[-1].endswith("es") else words[-1][:-1]
            keys += [(*words[:-1], words[-1][:-1]), (*words[:-1], stem)]
        for key in keys:
            term = self.phrases.get(key)
            if term is not None and (in_capitals is not False or key not in self.capitals_only):
                return term
        return None

    def match(self, tokens: list[Token], kinds: frozenset[Kind] = frozenset({"DRUG", "AE"})) -> list[Match]:
        """Non-overlapping terms in tokens, longest first, left to right; drugs also misspelt."""
        matches: list[Match] = []
        i = 0
        while i < len(tokens):
            found = self._match_at(tokens, i, kinds)
            skipped = self._not_event_at(tokens, i)
            if skipped and (found is None or (found.term.kind == "AE" and found.last - i <= skipped)):
                i += skipped
                continue
            if found is None:
                i += 1
                continue
            matches.append(found)
            i = found.last
        return matches

    def add_not_event(self, phrase: str) -> None:
        """A phrase that names no event although it holds an event word ("blister pack")."""
        for words in _with_twin(_phrase_words(phrase)):
            self.not_events.add(words)
            self.longest_not_event[words[0]] = max(self.longest_not_event.get(words[0], 0), len(words))

    def _not_event_at(self, tokens: list[Token], i: int) -> int:
        """How many tokens from i a not-event phrase covers (0: none)."""
        longest = min(self.longest_not_event.get(tokens[i].text, 0), len(tokens) - i)
        for length in range(longest, 0, -1):
            words = tuple(t.text for t in tokens[i : i + length])
            singular = (*words[:-1], words[-1][:-1]) if words[-1].endswith("s") else words
            if words in self.not_events or singular in self.not_events:
                return length
        return 0

    def _match_at(self, tokens: list[Token], i: int, kinds: frozenset[Kind]) -> Match | None:
        first = tokens[i].text
        if not tokens[i].is_word:
            return None
        phrase = None
        for length in range(min(self.longest.get(first, 1), len(tokens) - i), 0, -1):
            window = tokens[i : i + length]
            if not all(t.is_word for t in window):
                continue
            term = self.lookup(tuple(t.text for t in window), in_capitals=all(t.capitals for t in window))
            if term is not None and term.kind in kinds:
                phrase = Match(term, i, i + length, window[0].start, window[-1].end)
                break
        if "AE" in kinds and first in self.longest_measure:
            measured = self._measure_at(tokens, i)
            if measured is not None and (phrase is None or measured.last > phrase.last):
                phrase = measured  # "blood pressure 70/40" over "blood pressure"
        if "AE" in kinds and first in self.longest_pattern:
            pattern = self._pattern_at(tokens, i)
            if pattern is not None and (phrase is None or pattern.last > phrase.last):
                return pattern  # "my ankles have swollen up" over "ankles"
        if phrase is not None:
            return phrase
        if "DRUG" in kinds:
            term = self.fuzzy_drug(first)
            if term is not None:
                return Match(term, i, i + 1, tokens[i].start, tokens[i].end, fuzzy=True)
            if i > 0 and tokens[i - 1].text in _JOIN_AFTER:
                return self._heard_apart(tokens, i)
        return None

    def _heard_apart(self, tokens: list[Token], i: int) -> Match | None:
        """A drug name that speech-to-text or a typist split in two or three words after "the" or
        a possessive ("the met formin", "the jar dance", "the true licity"): the words joined, as
        the name or one of its misspellings."""
        for n in (2, 3):
            window = tokens[i : i + n]
            if len(window) < n or not all(t.text.isalpha() for t in window):
                return None
            joined = "".join(t.text for t in window)
            if len(joined) < _JOINED_MIN_LENGTH:
                continue
            term = self.lookup((joined,))
            fuzzy = term is None
            term = self.fuzzy_drug(joined) if term is None else term
            if term is not None and term.kind == "DRUG":
                return Match(term, i, i + n, window[0].start, window[-1].end, fuzzy=fuzzy)
        return None

    def _pattern_at(self, tokens: list[Token], i: int) -> Match | None:
        """The longest first part of a pattern at token i, then the nearest second part within
        PATTERN_GAP words, in one run of words with no negation or clause break between."""
        for length in range(min(self.longest_pattern[tokens[i].text], len(tokens) - i), 0, -1):
            patterns = self.patterns.get(tuple(t.text for t in tokens[i : i + length]))
            if not patterns:
                continue
            j = i + length
            while j < len(tokens) and j <= i + length + PATTERN_GAP and tokens[j].is_word:
                for pattern in patterns:
                    for size in range(min(pattern.longest_second, len(tokens) - j), 0, -1):
                        window = tokens[j : j + size]
                        if all(t.is_word for t in window) and tuple(t.text for t in window) in pattern.second:
                            return Match(pattern.term, i, j + size, tokens[i].start, window[-1].end)
                if tokens[j].text in _PATTERN_STOPS:
                    break
                j += 1
            return None
        return None

    def fuzzy_drug(self, word: str) -> Term | None:
        """The drug a misspelt word means: one edit (two from 9 letters), same first letter, unique.

        Only drugs flagged `fuzzy` (those MedlinePlus or the NHS describe for patients, and the
        project's overrides) are targets. Words of the event lexicons, of the hand-made
        known-words list and of the dictionary words close to a drug name (common_words.txt)
        never match, so "singular" is not Singulair.
        """
        if len(word) < _FUZZY_MIN_LENGTH or not _spelt_word(word) or word in self.known_words:
            return None
        if word not in self._fuzzy_seen:
            if len(self._fuzzy_seen) > 50_000:
                self._fuzzy_seen.clear()  # a bound on what a long-lived container remembers
            self._fuzzy_seen[word] = self._nearest_drug(word)
        return self._fuzzy_seen[word]

    def _nearest_drug(self, word: str) -> Term | None:
        if self.lookup((word,)) is not None:
            return None
        limit = 2 if len(word) >= _FUZZY_TWO_EDITS_LENGTH else 1
        letters = _letter_mask(word)
        firsts = [word[0], _SOUND_ALIKE[word[0]]] if word[0] in _SOUND_ALIKE else [word[0]]  # "zarelto"
        hits: list[tuple[int, int, int, str]] = []  # first letter's rank, name's rank, distance, name
        for rank, first in enumerate(firsts):
            by_length = self._drug_lengths(first)
            for length in range(len(word) - limit, len(word) + limit + 1):
                # the most letters missing and added that _letter_mask's bound allows within the limit
                extra = len(word) - length
                missing, added = limit + min(0, extra), limit - max(0, extra)
                for order, name, mask in by_length.get(length, ()):
                    if (letters & ~mask).bit_count() > missing or (mask & ~letters).bit_count() > added:
                        continue
                    distance = edit_distance(word, name, limit)
                    if distance <= limit:
                        hits.append((rank, order, distance, name))
        best: dict[str, int] = {}
        terms: dict[str, Term] = {}
        # in single_drugs' order: of one drug's names within the limit, the last gives its term
        for rank, _, distance, name in sorted(hits):
            term = self.single_drugs[firsts[rank]][name]
            best[term.normalized] = min(distance, best.get(term.normalized, limit + 1))
            terms[term.normalized] = term
        if not best:
            return None
        nearest = min(best.values())
        winners = [n for n, d in best.items() if d == nearest]
        return terms[winners[0]] if len(winners) == 1 else None

    def _drug_lengths(self, first: str) -> dict[int, list[tuple[int, str, int]]]:
        """The fuzzy targets starting with `first` by length: (rank in single_drugs, name, letter
        mask); rebuilt when single_drugs[first] has grown since."""
        names = self.single_drugs.get(first, {})
        known = self._drug_length_index.get(first)
        if known is None or known[0] != len(names):
            by_length: dict[int, list[tuple[int, str, int]]] = {}
            for order, name in enumerate(names):
                by_length.setdefault(len(name), []).append((order, name, _letter_mask(name)))
            known = self._drug_length_index[first] = (len(names), by_length)
        return known[1]


def _value_at(tokens: list[Token], j: int) -> tuple[float, str, int] | None:
    """The number written from token j, its unit, and the index of its last token: "6.4" and
    "6,8" are decimals, "10kg" a number and its unit, "70/40" reads 70, "from 4.8 to 5.9" reads 5.9;
    None when token j starts no number."""
    word = tokens[j].text
    match = _NUMBER.fullmatch(word)
    if match is None:
        return (_NUMBER_WORDS[word], _unit_after(tokens, j), j) if word in _NUMBER_WORDS else None
    number, unit, end = float(match.group(1)), match.group(2), j
    if (
        not unit
        and j + 2 < len(tokens)
        and tokens[j + 1].text in ".,"
        and tokens[j + 1].start == tokens[j].end
    ):
        decimals = _NUMBER.fullmatch(tokens[j + 2].text)
        if decimals is not None and tokens[j + 2].start == tokens[j + 1].end:
            number, unit, end = float(f"{match.group(1)}.{decimals.group(1)}"), decimals.group(2), j + 2
    if end + 2 < len(tokens) and tokens[end + 1].text == "to":
        later = _value_at(tokens, end + 2)
        if later is not None:
            return later
    return number, unit or _unit_after(tokens, end), end


def _latest(tokens: list[Token], value: tuple[float, str, int]) -> tuple[float, str, int]:
    """The measure's latest value: a number after "now" or "to" a few words on ("BP was 160, now
    125", "sugars 14 and down to 7 now") replaces the first; the span keeps the first."""
    end = value[2]
    for k in range(end + 1, min(end + 6, len(tokens) - 1)):
        if tokens[k].text in ".;!?":
            break
        if tokens[k].text in ("now", "to"):
            later = _value_at(tokens, k + 1)
            if later is not None:
                return later[0], later[1], end
    return value


def _unit_after(tokens: list[Token], j: int) -> str:
    return tokens[j + 1].text if j + 1 < len(tokens) and tokens[j + 1].is_word else ""


def _spelt_word(word: str) -> bool:
    """Letters only, or letters joined by hyphens ("co-codamol")."""
    return word.replace("-", "").isalpha() and not word.startswith("-") and not word.endswith("-")


def _phrase_words(phrase: str) -> tuple[str, ...]:
    return tuple(token_texts(phrase))  # tokenize's texts, without building its tokens


def _with_twin(words: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The words, and the same without apostrophes when they have any ("can't": also "cant")."""
    if "'" not in "".join(words):
        return [words]
    return [words, tuple(w.replace("'", "") for w in words)]


def _letter_mask(word: str) -> int:
    """A bit per character the word holds (bit ord(c) % 64): a lower bound on edit distances."""
    # The bound, for words a and b, n = len(a) - len(b): let M be the bits of a's mask not in b's,
    # A those of b's not in a's; P how many characters of a (repeats counted) the multiset of b's
    # lacks, Q the same of b's. Each bit of M stands for a character of a that b lacks, so M <= P
    # (two characters on one bit only lower M), and A <= Q. P - Q = n, so P >= A + n, Q >= M - n.
    # An insertion or deletion changes one of P and Q by one, a substitution each by at most one,
    # an adjacent transposition neither; b has P = Q = 0. So distance >= max(P, Q) >=
    # max(M, A + n, A, M - n): within `limit`, M <= limit + min(0, n) and A <= limit - max(0, n).
    mask = 0
    for char in word:
        mask |= 1 << (ord(char) & 63)
    return mask


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (transpositions count one), or limit + 1 when above it."""
    over = limit + 1
    if abs(len(a) - len(b)) > limit:
        return over
    # Only the cells within `limit` of the diagonal: one further off holds at least its offset from
    # it, more than the limit, so `over` stands for it; and over (or more) in a cell gives over (or
    # more) in every cell computed from it, where the true value is over or more too.
    previous2: list[int] = []
    previous = [j if j <= limit else over for j in range(len(b) + 1)]
    for i in range(1, len(a) + 1):
        ca = a[i - 1]
        current = [i if i <= limit else over] + [over] * len(b)
        lowest = current[0]
        for j in range(max(1, i - limit), min(len(b), i + limit) + 1):
            cb = b[j - 1]
            cell = previous[j - 1] if ca == cb else previous[j - 1] + 1
            if previous[j] < cell:
                cell = previous[j] + 1
            if current[j - 1] < cell:
                cell = current[j - 1] + 1
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb and previous2[j - 2] < cell:
                cell = previous2[j - 2] + 1
            current[j] = cell
            if cell < lowest:
                lowest = cell
        if lowest > limit:
            return over  # no later row can come back within the limit
        previous2, previous = previous, current
    return min(previous[-1], over)


def _resource_lines(name: str) -> list[list[str]]:
    text = resources.files("pv.resources").joinpath(name).read_text(encoding="utf-8")
    return [line.split("\t") for line in text.splitlines() if line.strip() and not line.startswith("#")]


def _flags(row: list[str]) -> frozenset[str]:
    return frozenset(f.strip() for f in row[2].split(",") if f.strip()) if len(row) > 2 else frozenset()


def _add_rows(
    lex: Lexicon, rows: list[list[str]], kind: Kind, source: Source, *, named: bool = True
) -> set[str]:
    """Add a vocabulary file's rows (preferred term, phrases, flags; `named`: the preferred term is
    a phrase too); the words of its phrases."""
    seen: set[str] = set()
    for row in rows:
        flags = _flags(row)
        row_source: Source = "project" if kind == "DRUG" and "project" in flags else source
        term = Term(kind, row[0].strip().lower(), flags, row_source)
        for phrase in [*row[: int(named)], *(row[1].split("|") if len(row) > 1 else [])]:
            if phrase.strip():
                lex.add(phrase, term)
                if kind == "AE":
                    seen.update(phrase.lower().split())
    return seen


_active_sources: frozenset[Source] = SOURCES


def lexicon(language: str = "en") -> Lexicon:
    """The drug and event vocabularies of pv/resources, read once per container; for another
    language ("es", "fr", "de", "pt") with that language's lay lexicon (events.<language>.tsv) too."""
    if language == "en":
        return _lexicon(_active_sources)
    return _language_lexicon(_active_sources, language)


@contextlib.contextmanager
def only_sources(sources: frozenset[Source]) -> Iterator[None]:
    """Read with some vocabulary sources only (to measure what each adds: `pv evaluate-lay`)."""
    global _active_sources
    previous, _active_sources = _active_sources, frozenset(sources)
    try:
        yield
    finally:
        _active_sources = previous


@cache
def _lexicon(sources: frozenset[Source]) -> Lexicon:
    return _kept_or_built(sources)


def _kept_or_built(sources: frozenset[Source]) -> Lexicon:
    """The English lexicon, unpickled from a build of the same vocabularies by the same code when
    one is kept (in the package, where `make build` puts one, or in $PV_LEXICON_CACHE), else built
    (and kept in $PV_LEXICON_CACHE when it names a folder). Building it costs about a second of CPU
    on a container's first document; reading a kept one about a quarter of that."""
    import pickle  # here, not at import: a handler's cold import does not need it

    key = _build_key(sources)
    if key is None:
        return _build_lexicon(sources)
    name = f"lexicon-{key}.pickle"
    # $PV_LEXICON_CACHE: a folder where built lexicons are kept for later processes (the local
    # stack's containers); in Lambda it is unset and the package's own is read.
    kept_in = os.environ.get("PV_LEXICON_CACHE")
    folders = [kept_in, _package_folder()]
    for folder in (Path(f) for f in folders if f):
        try:
            with (folder / name).open("rb") as kept:
                lex = pickle.load(kept)  # written by this code (its name is the build's digest)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            continue
        if isinstance(lex, Lexicon):
            return lex
    lex = _build_lexicon(sources)
    if kept_in:
        _keep(lex, Path(kept_in) / name)
    return lex


def _build_key(sources: frozenset[Source]) -> str | None:
    """A digest of everything a build reads: the vocabulary files, this module's and pv.intelligence.
    text's source, the sources asked for and the Python version (None: a source is unreadable)."""
    import hashlib

    digest = hashlib.sha256(f"{sys.version_info[:2]}|{sorted(sources)}".encode())
    try:
        for module_file in (__file__, text_module.__file__):
            digest.update(Path(str(module_file)).read_bytes())
        folder = resources.files("pv.resources")
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.name.endswith((".tsv", ".txt")):
                digest.update(entry.name.encode())
                digest.update(entry.read_bytes())
    except OSError:
        return None
    return digest.hexdigest()[:24]


def _package_folder() -> str | None:
    folder = resources.files("pv.resources")
    return str(folder) if isinstance(folder, Path) else None


def _keep(lex: Lexicon, path: Path) -> None:
    """Write the pickle beside its final name, then rename (readers never see half a file)."""
    import pickle
    import tempfile

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=path.parent, suffix=".part", delete=False) as part:
            pickle.dump(lex, part, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(part.name, path)
    except OSError:
        return  # a read-only or full folder: the next container builds it again


def _build_lexicon(sources: frozenset[Source]) -> Lexicon:
    lex = Lexicon()
    event_words: set[str] = set()
    if "lay" in sources:
        event_words |= _add_rows(lex, _resource_lines("events.tsv"), "AE", "lay")
        for row in _resource_lines("not_events.tsv"):
            lex.add_not_event(row[0].strip())
        flags = {t.normalized: t.flags for t in lex.phrases.values() if t.kind == "AE"}
        for row in _resource_lines("event_patterns.tsv"):
            term = row[0].strip().lower()
            own = _flags([row[0], "", row[3]]) if len(row) > 3 else frozenset()
            lex.add_pattern(row[1].split("|"), row[2].split("|"), Term("AE", term, flags.get(term, own)))
        for row in _resource_lines("measures.tsv"):
            term = row[0].strip().lower()
            ranges = tuple(
                (float(a), float(b)) for a, b in (r.split("..") for r in row[2].split("|") if r.strip())
            )
            units = frozenset(u.strip() for u in row[3].split("|")) if len(row) > 3 else frozenset()
            lex.add_measure(
                row[1].split("|"), Measure(Term("AE", term, flags.get(term, frozenset())), ranges, units)
            )
    if "hpo" in sources:
        event_words |= _add_rows(lex, _resource_lines("hpo_events.tsv"), "AE", "hpo")
    drug_rows = _resource_lines("drugs.tsv")
    _add_rows(
        lex,
        [r for r in drug_rows if ("project" if "project" in _flags(r) else "drugs") in sources],
        "DRUG",
        "drugs",
        named=False,
    )
    known = {
        row[0].strip() for name in ("known_words.txt", "common_words.txt") for row in _resource_lines(name)
    }
    lex.known_words = frozenset(known | {w for w in event_words if w.isalpha()})
    events = {t.normalized for t in lex.phrases.values() if t.kind == "AE"}
    lex.broader = {t.normalized: t.broader for t in lex.phrases.values() if t.kind == "AE" and t.broader}
    unknown = {b for b in lex.broader.values() if b not in events}
    if unknown and "lay" in sources:
        raise ValueError(f"events.tsv: under: names terms it does not define: {sorted(unknown)}")
    return lex


@cache
def _language_lexicon(sources: frozenset[Source], language: str) -> Lexicon:
    """The English lexicon with the lay lexicon of `language`: its phrases (named by English terms,
    with the flags the English lexicon gives each term) win over English events, never over drugs."""
    base = _lexicon(sources)
    lex = Lexicon(
        patterns={words: list(found) for words, found in base.patterns.items()},
        longest_pattern=dict(base.longest_pattern),
        measures=base.measures,
        longest_measure=base.longest_measure,
        not_events=set(base.not_events),
        longest_not_event=dict(base.longest_not_event),
        single_drugs=base.single_drugs,
        capitals_only=set(base.capitals_only),
        broader=base.broader,
    )
    event_words: set[str] = set()
    if "lay" in sources:
        flags = {t.normalized: t.flags for t in base.phrases.values() if t.kind == "AE"}
        for row in _resource_lines(f"events.{language}.tsv"):
            term = Term("AE", row[0].strip().lower(), flags.get(row[0].strip().lower(), _flags(row)), "lay")
            for phrase in row[1].split("|"):
                if phrase.strip() and base.phrases.get(_phrase_words(phrase), term).kind != "DRUG":
                    lex.add(phrase, term)
                    event_words.update(lex_word for lex_word in phrase.lower().split())
    for words, term in base.phrases.items():
        lex.phrases.setdefault(words, term)
        lex.longest[words[0]] = max(lex.longest.get(words[0], 0), len(words))
    lex.known_words = base.known_words | frozenset(fold(w) for w in event_words if w.isalpha())
    return lex


@cache
def vocabulary_versions() -> dict[str, str]:
    """The version of each vocabulary source the shipped files were built from (vocabularies.json),
    as recorded with each case: {"drugs": "drug-named-entity-recognition 2.0.9", "hpo": "2025-01-16"}."""
    data: dict[str, Any] = json.loads(
        resources.files("pv.resources").joinpath("vocabularies.json").read_text()
    )
    return {kind: f"{source['source'].split(' (')[0]} {source['version']}" for kind, source in data.items()}
