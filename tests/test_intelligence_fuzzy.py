"""The misspelling-tolerant drug matcher's shortcuts (length buckets, a letter bound, a banded
distance) give the answers of the plain search they replace, word for word."""

from __future__ import annotations

import random
import string
from importlib import resources

import pytest
from pv.intelligence.lexicon import (
    _FUZZY_TWO_EDITS_LENGTH,
    _SOUND_ALIKE,
    Lexicon,
    Term,
    edit_distance,
    lexicon,
)

ALPHABET = string.ascii_lowercase + "-"


def reference_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance over the whole table, or limit + 1 when above it."""
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        table[i][0] = i
    for j in range(len(b) + 1):
        table[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
    return min(table[-1][-1], limit + 1)


def reference_early_exit_distance(a: str, b: str, limit: int) -> int:
    """`edit_distance` before the band: row by row, given up once a whole row is above the limit."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return min(previous[-1], limit + 1)


def reference_nearest_drug(lex: Lexicon, word: str) -> Term | None:
    """`Lexicon._nearest_drug` before the shortcuts: every drug of the word's first letter (and its
    sound-alike) within the length window, by the distance before the band."""
    if lex.lookup((word,)) is not None:
        return None
    limit = 2 if len(word) >= _FUZZY_TWO_EDITS_LENGTH else 1
    best: dict[str, int] = {}
    terms: dict[str, Term] = {}
    candidates = lex.single_drugs.get(word[0], {})
    if word[0] in _SOUND_ALIKE:
        candidates = {**candidates, **lex.single_drugs.get(_SOUND_ALIKE[word[0]], {})}
    for name, term in candidates.items():
        if abs(len(name) - len(word)) > limit:
            continue
        distance = reference_early_exit_distance(word, name, limit)
        if distance <= limit:
            best[term.normalized] = min(distance, best.get(term.normalized, limit + 1))
            terms[term.normalized] = term
    if not best:
        return None
    nearest = min(best.values())
    winners = [n for n, d in best.items() if d == nearest]
    return terms[winners[0]] if len(winners) == 1 else None


def edited(word: str, rng: random.Random, edits: int) -> str:
    """The word after `edits` random insertions, deletions, substitutions, adjacent transpositions
    or doubled letters."""
    for _ in range(edits):
        i = rng.randrange(len(word))
        kind = rng.choice(["insert", "delete", "substitute", "transpose", "double"])
        if kind == "insert":
            word = word[:i] + rng.choice(ALPHABET) + word[i:]
        elif kind == "delete" and len(word) > 1:
            word = word[:i] + word[i + 1 :]
        elif kind == "substitute":
            word = word[:i] + rng.choice(ALPHABET) + word[i + 1 :]
        elif kind == "transpose" and i + 1 < len(word):
            word = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        else:
            word = word[:i] + word[i] + word[i:]
    return word


def resource_words(name: str) -> list[str]:
    text = resources.files("pv.resources").joinpath(name).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def sample_words(lex: Lexicon, rng: random.Random) -> list[str]:
    """Drug names with one or two edits, the words kept from the matcher, words sharing a first
    letter and length with drugs, and random strings."""
    names = sorted(name for by_first in lex.single_drugs.values() for name in by_first)
    picked = rng.sample(names, 1000)
    words = [edited(n, rng, 1) for n in picked[:500]] + [edited(n, rng, 2) for n in picked[500:]]
    words += [edited(n, rng, 3) for n in rng.sample(names, 150)]
    words += [n.replace(n[0], rng.choice("xz"), 1) for n in rng.sample(names, 100)]  # sound-alikes
    words += rng.sample(resource_words("common_words.txt"), 500) + resource_words("known_words.txt")
    words += [rng.choice(names)[0] + "".join(rng.choices(ALPHABET, k=rng.randint(5, 12))) for _ in range(200)]
    words += ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(6, 12))) for _ in range(150)]
    return [w for w in words if len(w) >= 6 and w[0].isalpha()]


@pytest.fixture(scope="module")
def english() -> Lexicon:
    return lexicon()


def test_the_nearest_drug_is_the_same_as_by_the_plain_search(english: Lexicon):
    rng = random.Random(18)
    words = sample_words(english, rng)
    assert len(words) > 2000
    found = {w: english._nearest_drug(w) for w in words}
    assert found == {w: reference_nearest_drug(english, w) for w in words}
    assert sum(t is not None for t in found.values()) > 500  # the sample does reach drugs


def test_a_drug_added_after_a_search_is_a_target_of_the_next():
    lex = Lexicon()
    lex.add("warfarin", Term("DRUG", "warfarin", frozenset({"fuzzy"})))
    assert lex._nearest_drug("wafarin") == Term("DRUG", "warfarin", frozenset({"fuzzy"}))
    lex.add("wafarine", Term("DRUG", "other", frozenset({"fuzzy"})))
    assert lex._nearest_drug("wafarin") is None  # one edit from both: not unique


def test_the_nearest_of_two_spellings_of_one_drug_keeps_the_last_listed_term():
    lex = Lexicon()
    lex.add("coumadin", Term("DRUG", "warfarin", frozenset({"fuzzy"}), "drugs"))
    lex.add("coumadine", Term("DRUG", "warfarin", frozenset({"fuzzy"}), "project"))
    assert lex._nearest_drug("koumadin") is None  # no drug starts with k
    assert lex._nearest_drug("coumadinn") == reference_nearest_drug(lex, "coumadinn")
    assert lex._nearest_drug("coumadinn") == Term("DRUG", "warfarin", frozenset({"fuzzy"}), "project")


def random_pairs(rng: random.Random, count: int) -> list[tuple[str, str]]:
    """Short words of a few letters (so letters repeat), each with an edited copy or another word."""
    pairs = []
    for _ in range(count):
        a = "".join(rng.choices("abcde-", k=rng.randint(0, 10)))
        other = "".join(rng.choices("abcde", k=rng.randint(0, 10)))
        pairs.append((a, edited(a, rng, rng.randint(1, 4)) if a and rng.random() < 0.7 else other))
    return pairs


@pytest.mark.parametrize("limit", [0, 1, 2, 3])
def test_the_edit_distance_is_the_full_tables_capped_at_the_limit(limit: int):
    pairs = random_pairs(random.Random(limit), 3000)
    expected = [reference_distance(a, b, limit) for a, b in pairs]
    assert [edit_distance(a, b, limit) for a, b in pairs] == expected
    assert [reference_early_exit_distance(a, b, limit) for a, b in pairs] == expected


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("warfarin", "warfarin", 0),
        ("warfarin", "wafrarin", 1),  # a transposition counts one
        ("warfarin", "warfain", 1),
        ("warfarin", "warrfarin", 1),
        ("abc", "ca", 3),  # optimal string alignment: no edit of a transposed pair
        ("metformin", "metfromim", 2),
        ("metformin", "xyz", 3),  # above the limit: limit + 1
    ],
)
def test_the_edit_distance_of_known_pairs(a: str, b: str, distance: int):
    assert edit_distance(a, b, 2) == distance == edit_distance(b, a, 2)
