"""Text primitives of case intelligence: tokens with offsets, accent folding.

Sentences come from `pv.sentences`, the splitter screening uses, so a case reads the same
sentences the classifier scored.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Cue phrases as word sequences (folded tokens): ("free", "of"), ("je", "suis").
Phrases = tuple[tuple[str, ...], ...]
# Cue phrases found in folded text as whole words, "#" standing for a number ("# years", "tengo # años").
Patterns = tuple[str, ...]


def find_phrase(words: list[str], phrase: tuple[str, ...], start: int = 0) -> int:
    """Where `phrase` first occurs in `words` from `start`, or -1."""
    n = len(phrase)
    for i in range(start, len(words) - n + 1):
        if tuple(words[i : i + n]) == phrase:
            return i
    return -1


def has_phrase(words: list[str], phrases: Phrases) -> bool:
    """Whether any of `phrases` occurs in `words`."""
    return any(find_phrase(words, p) >= 0 for p in phrases)


def starts_with(words: list[str], phrases: Phrases) -> bool:
    """Whether `words` begin with one of `phrases`."""
    return any(tuple(words[: len(p)]) == p for p in phrases)


def word_set(words: str) -> frozenset[str]:
    """A set of words written as one space-separated string."""
    return frozenset(words.split())


# An elided French article or pronoun is a word of its own ("l'advil": "l'", "advil"; "j'ai").
_TOKEN = re.compile(r"\b(?:qu|[cdjlmnst])'(?=[A-Za-z0-9])|[A-Za-z0-9]+(?:['\-][A-Za-z0-9]+)*|[^\sA-Za-z0-9]")


@dataclass(frozen=True, slots=True)
class Token:
    """A word or punctuation mark of a sentence: folded lowercase text, character offsets, and
    whether the word was written in capitals ("AKI", or the plural "AKIs")."""

    text: str
    start: int
    end: int
    capitals: bool = False

    @property
    def is_word(self) -> bool:
        return self.text[0].isalnum()


def fold(text: str) -> str:
    """Lowercase, accents and typographic quotes removed; same length as the input (offsets hold)."""
    if text.isascii():
        return text.lower()
    return "".join(_fold_char(c) for c in text)


def _fold_char(char: str) -> str:
    if char in "\u2019\u2018\u02bc`":
        return "'"
    if char in "\u2010\u2011\u2012\u2013":
        return "-"
    base = unicodedata.normalize("NFKD", char)[:1] or char
    lowered = base.lower()
    return lowered if len(lowered) == 1 else base


def tokenize(text: str) -> list[Token]:
    """Words (with inner apostrophes and hyphens) and single punctuation marks, folded."""
    folded = fold(text)
    tokens = []
    for m in _TOKEN.finditer(folded):
        start, end = m.span()
        # in_capitals only for a word that starts with a capital: most words do not (hot path).
        capitals = text[start].isupper() and in_capitals(text[start:end])
        tokens.append(Token(m.group(), start, end, capitals))
    return tokens


def words(text: str) -> list[str]:
    """The folded texts of `tokenize`'s tokens, without their offsets (cheaper on long texts)."""
    return _TOKEN.findall(fold(text))


def in_capitals(word: str) -> bool:
    """Every letter upper case, but for a plural's final "s" ("AKI", "AKIs"; not "Aki")."""
    if len(word) > 2 and word.endswith("s"):
        word = word[:-1]
    return word.isupper()
