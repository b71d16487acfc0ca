"""Sentence splitting for screening: pure stdlib, aware of abbreviations, lists and line breaks.

Nothing is ever dropped except pieces with no letters or digits: a sentence longer than
`max_chars` is cut at word boundaries into consecutive pieces, all of them kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pv.models import SourceDocument

# Never end a sentence: titles and Latin abbreviations are followed by the rest of the sentence.
_ALWAYS_ABBREVIATIONS = frozenset(
    {"dr", "mr", "mrs", "ms", "prof", "st", "sr", "jr", "vs", "e.g", "i.e", "eg", "ie", "approx", "cf", "viz"}
    | {"ca", "rev", "gen", "capt", "lt", "col", "hon", "fr", "mt", "nr", "ref", "dept", "univ", "wt", "ht"}
)
# End a sentence only before a capital letter: "20 mg. daily" goes on, "20 mg. Then" ends.
_SOMETIMES_ABBREVIATIONS = frozenset(
    {"mg", "mcg", "ml", "kg", "g", "l", "oz", "lb", "lbs", "tsp", "tbsp", "etc", "tab", "tabs", "cap", "caps"}
    | {"inc", "ltd", "co", "corp", "min", "max", "hr", "hrs", "wk", "wks", "yr", "yrs", "mo", "mos", "no"}
    | {"fig", "vol", "p", "pp", "bid", "tid", "qid", "qd", "prn", "am", "pm", "approx", "jan", "feb", "mar"}
    | {"apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "mon", "tue", "wed", "thu", "fri"}
)

# Words a single capital letter names a kind of ("vitamin D", "hepatitis B", "type A"): that letter
# is not an initial, so "I take vitamin D. Then I got a rash." is two sentences.
_LETTER_NAMERS = frozenset(
    {"vitamin", "hepatitis", "type", "group", "grade", "stage", "class", "phase", "factor", "plan"}
    | {"vitamins", "protein", "antigen", "ward", "wing", "block", "bay", "room", "unit", "level"}
)

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BULLET = re.compile(r"^\s*(?:[-*•·▪‣◦–—>]+|\(?\d{1,3}[.)]|\(?[a-z][.)]|\([A-Z]\))\s+")
_LABEL = re.compile(r"^[A-Za-z][\w'’ -]{0,24}:\s")
_TERMINAL = re.compile(r"(\.{3}|…|[.!?]+)([\"'”’)\]]*)\s+")
_TERMINAL_END = re.compile(r"[.!?…][\"'”’)\]]*$")
_HAS_WORD = re.compile(r"\w")


def split_sentences(text: str, max_chars: int = 1000) -> list[str]:
    """Sentences of `text`, in order, each at most `max_chars` long (longer ones cut, all kept)."""
    if max_chars < 1:
        raise ValueError("max_chars must be positive")
    sentences: list[str] = []
    for segment in _segments(text):
        for sentence in _split_segment(segment):
            sentence = " ".join(sentence.split())
            if _HAS_WORD.search(sentence):
                sentences.extend(_pieces(sentence, max_chars))
    return sentences


def document_sentences(doc: SourceDocument, max_chars: int = 1000) -> list[str]:
    """Sentences of a document's screened units (new email text, caller turns, posts), in order."""
    return [s for unit in doc.screened_units for s in split_sentences(unit.text, max_chars)]


def _segments(text: str) -> Iterator[str]:
    """Runs of text that no sentence crosses: paragraphs, list items, labelled lines.

    Hard-wrapped lines inside a paragraph are joined, unless the line before looks complete
    (ends a sentence or introduces a list) or is a short line such as a greeting or heading.
    """
    text = _CONTROL.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n"))
    current: list[str] = []
    previous = ""
    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            if current:
                yield " ".join(current)
            current, previous = [], ""
            continue
        bullet = _BULLET.match(line)
        if bullet:
            line = line[bullet.end() :].strip()
            if not line:
                continue
        if current and not bullet and not _LABEL.match(line) and not _line_complete(previous, line):
            current.append(line)
        else:
            if current:
                yield " ".join(current)
            current = [line]
        previous = line
    if current:
        yield " ".join(current)


def _line_complete(previous: str, line: str) -> bool:
    """Whether a line break after `previous` ends the text before it."""
    if _TERMINAL_END.search(previous) and not _is_abbreviation_end(previous):
        return True
    return len(previous) < 30 and not previous.endswith(",") and line[:1].isupper()


def _is_abbreviation_end(line: str) -> bool:
    token = line.rsplit(None, 1)[-1].lower().rstrip(".")
    return token in _ALWAYS_ABBREVIATIONS


def _split_segment(segment: str) -> Iterator[str]:
    start = 0
    for match in _TERMINAL.finditer(segment):
        if _ends_sentence(segment, match):
            yield segment[start : match.end(2)]
            start = match.end()
    if start < len(segment):
        yield segment[start:]


def _ends_sentence(segment: str, match: re.Match[str]) -> bool:
    punctuation = match.group(1)
    following = segment[match.end() : match.end() + 1]
    if not following:
        return True
    next_is_upper = following.isupper()
    if punctuation in ("...", "…"):
        return next_is_upper  # "I felt... weird" goes on
    if punctuation != ".":
        return True  # ?, !, ?!, !!!
    before = segment[: match.start()].rsplit(None, 1)
    token = before[-1].lstrip("(\"'“‘[").lower() if before else ""
    if not token:
        return True
    if token in _ALWAYS_ABBREVIATIONS:
        return False
    if token == "no" and following.isdigit():
        return False  # "No. 5"
    if token in _SOMETIMES_ABBREVIATIONS or "." in token:
        return next_is_upper  # "20 mg. daily", "9 a.m. She"
    if len(token) == 1 and token.isalpha() and before[-1].isupper():
        previous = before[0].rsplit(None, 1)[-1].lower() if len(before) == 2 else ""
        if previous in _LETTER_NAMERS:
            return next_is_upper  # "vitamin D. Then"
        return not next_is_upper  # an initial: "J. Smith"
    return True


def _pieces(sentence: str, max_chars: int) -> Iterator[str]:
    """The sentence itself, or consecutive word-boundary pieces of at most max_chars."""
    if len(sentence) <= max_chars:
        yield sentence
        return
    current = ""
    for word in sentence.split(" "):
        while len(word) > max_chars:  # one "word" longer than a piece: cut it hard
            if current:
                yield current
                current = ""
            yield word[:max_chars]
            word = word[max_chars:]
        if not word:
            continue
        if not current:
            current = word
        elif len(current) + 1 + len(word) <= max_chars:
            current = f"{current} {word}"
        else:
            yield current
            current = word
    if current:
        yield current
