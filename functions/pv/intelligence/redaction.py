"""Personal data out of text: typed placeholders ([NAME], [PHONE] ...) by rules or by Comprehend Medical."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from .lexicon import lexicon
from .text import tokenize, word_set


class Redactor(Protocol):
    """Replaces personal data in a text with typed placeholders."""

    def redact(self, text: str, *, known_names: Iterable[str] = ()) -> str: ...


_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_URL = re.compile(r"\bhttps?://\S+|\bwww\.\S+", re.IGNORECASE)
_HANDLE = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{2,30}\b")
_DATE = (
    r"(?:\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{4}-\d{2}-\d{2}|\d{1,2}(?:st|nd|rd|th)?\s+[A-Z][a-z]+\.?,?\s+\d{4}|"
    r"[A-Z][a-z]+\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4})"
)
_DOB = re.compile(
    rf"\b(?:d\.?o\.?b\.?|date of birth|born(?: on)?|birth ?date|birthday)\s*(?:is|was|:|-)?\s*{_DATE}",
    re.IGNORECASE,
)
_ID = re.compile(
    r"\b(?:MRN|medical record (?:number|no\.?)|record (?:number|no\.?)|hospital (?:number|no\.?)|"
    r"NHS (?:number|no\.?)|"
    r"patient (?:id|number|no\.?)|policy (?:number|no\.?)|member (?:id|number)|insurance (?:id|number)|"
    r"account (?:number|no\.?)|reference (?:number|no\.?)|ref(?:erence)?|case (?:number|no\.?)|chi number|"
    r"ssn|social security (?:number|no\.?)|(?:passport|licen[cs]e) (?:number|no\.?))"
    r"\s*(?:is|was|:|#|-)?\s*(?:[A-Z]{0,4}[- ]?)?\d[\dA-Z -]{3,}\d\b",
    re.IGNORECASE,
)
_NHS_NUMBER = re.compile(r"\b\d{3} \d{3} \d{4}\b")
_SSN = re.compile(r"\b\d{3}-\d{2}-\d{4}\b")
_PHONE = re.compile(
    r"(?<![\w/.-])(?:\+\d{1,3}[\s.-]?)?(?:\(0?\d{1,5}\)[\s.-]?)?\d{2,6}(?:[\s.-]\d{2,6}){1,4}(?![\w/-])(?!\.\d)"
)
_STREET_TYPES = (
    r"street|st|road|rd|avenue|ave|lane|ln|drive|dr|close|court|ct|place|pl|way|crescent|terrace|"
    r"boulevard|blvd|gardens|grove|square|sq|parkway|highway|hwy|row|mews|walk"
)
_STREET = re.compile(
    rf"\b\d{{1,5}}[A-Za-z]?,?\s+(?:[A-Z][A-Za-z'-]+\s+){{1,3}}(?:{_STREET_TYPES})\b\.?"
    r"(?:,?\s+(?:apt|apartment|flat|unit|suite)\.?\s*#?\w+)?",
    re.IGNORECASE,
)
_NAMED_STREET = re.compile(rf"\b(?:[A-Z][a-z'-]+\s+){{1,2}}(?:{_STREET_TYPES.replace('|dr|', '|')})\b")
_UK_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b")
_US_STATE_ZIP = re.compile(r"\b[A-Z]{2}\s+\d{5}(?:-\d{4})?\b")
_ZIP = re.compile(r"\b(?:zip(?: code)?|postcode|post code)\s*:?\s*\d{5}(?:-\d{4})?\b", re.IGNORECASE)

_NAME_WORD = r"[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?"
_FULL_NAME = rf"{_NAME_WORD}(?:\s+(?:[A-Z]\.\s*)?{_NAME_WORD}){{0,2}}"
_TITLE_NAME = re.compile(
    rf"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Professor|Doctor|Nurse|Sister|Rev)\.?\s+(?:[A-Z]\.\s*)*{_FULL_NAME}"
)
_INTRO_NAME = re.compile(
    rf"\b(?:[Mm]y name is|[Mm]y name's|[Nn]ame:|I am|I'm|[Tt]his is|[Cc]alled|[Ss]igned)\s+({_FULL_NAME})"
)
_GREETING = re.compile(
    rf"^[ \t]*(?:[Dd]ear|[Hh]i|[Hh]ello|[Hh]ey|[Gg]ood (?:morning|afternoon|evening))[ \t]+({_FULL_NAME})\b",
    re.MULTILINE,
)
_SIGN_OFF = re.compile(
    rf"\b(?:[Rr]egards|[Kk]ind regards|[Bb]est wishes|[Bb]est|[Tt]hanks|[Tt]hank you|[Cc]heers|[Ss]incerely|"
    rf"[Yy]ours(?: sincerely| truly| faithfully)?|[Mm]any thanks|[Ww]arm regards|[Ss]ent by)"
    rf"\s*[,.!-]?\s+({_FULL_NAME})\s*\.?\s*$",
    re.MULTILINE,
)
_RELATIVE_NAME = re.compile(
    rf"\b(?:[Mm]y|[Oo]ur|[Hh]er|[Hh]is|[Tt]heir)\s+(?:mother|mum|mom|father|dad|husband|wife|partner|son|daughter|brother|sister|"
    rf"grandmother|grandma|grandfather|grandpa|aunt|uncle|cousin|friend|baby|child|patient|neighbour|neighbor)"
    rf",?\s+({_FULL_NAME})"
)
_INITIALS = re.compile(r"\b(?:[A-Z]\.\s?){2,3}(?=\W|$)|\b(?:patient|pt|initials)\s*:?\s*[A-Z]{2,3}\b")
_AGE_WORDS = frozenset({"I", "The", "A", "An"})
# Capitalised words that the name patterns must not take: pronouns, months, days, common words.
_NOT_NAMES = word_set(
    "I Im I'm The A An And But So Then Now Today Yesterday Tomorrow Monday Tuesday Wednesday Thursday "
    "Friday Saturday Sunday January February March April May June July August September October "
    "November December Caller Agent Patient Doctor Nurse Pharmacist Hospital Thanks Regards Please "
    "Hello Dear Sir Madam All Team Support Sorry Not Very Really Just Also Still Here There Taking On "
    "In At After Since Before Feeling Having Getting Worried Writing Calling Concerned Glad Happy "
    "Sure Fine Okay Ok"
)


def _sub_group(pattern: re.Pattern[str], placeholder: str, text: str, *, drugs_ok: bool = True) -> str:
    """Replace group 1 of each match (the name), keeping the words around it."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        words = name.split()
        while words and (words[0] in _NOT_NAMES or _is_vocabulary(words[0])):
            words.pop(0)
        while words and (words[-1] in _NOT_NAMES or _is_vocabulary(words[-1])):
            words.pop()
        if not words:
            return match.group(0)
        kept = " ".join(words)
        start = match.start(1) - match.start(0) + name.index(kept)
        whole = match.group(0)
        return whole[:start] + placeholder + whole[start + len(kept) :]

    return pattern.sub(replace, text)


def _is_vocabulary(word: str) -> bool:
    """Drug and event words are never names ("Dear Lipitor team" keeps Lipitor)."""
    return lexicon().lookup((word.lower(),)) is not None


def name_variants(metadata: Mapping[str, str]) -> list[str]:
    """Names and handles of the sender, caller or author found in a document's metadata."""
    names: list[str] = []
    for key in ("from", "sender", "reply_to", "author", "caller", "caller_name", "name", "user", "username"):
        value = metadata.get(key, "")
        if not value:
            continue
        display = re.sub(r"<[^>]*>|\"", " ", value)
        display = _EMAIL.sub(" ", display).replace("@", " ")
        for part in re.split(r"[,;]", display):
            part = part.strip()
            if part:
                names.append(part)
                names.extend(w for w in re.split(r"[\s._]+", part) if len(w) >= 3)
        local = re.findall(r"([\w.+-]+)@", value)
        names.extend(w for loc in local for w in re.split(r"[._+-]", loc) if len(w) >= 3 and w.isalpha())
    return sorted(set(names), key=len, reverse=True)


class RuleRedactor:
    """The default redactor: patterns for contact details, dates of birth, record numbers and names.

    Order matters: structured identifiers go first so a phone number inside an address or an
    NHS number is never half-replaced; names last, so placeholders are not read as names.
    """

    def redact(self, text: str, *, known_names: Iterable[str] = ()) -> str:
        out = _EMAIL.sub("[EMAIL]", text)
        out = _URL.sub("[URL]", out)
        out = _DOB.sub("[DOB]", out)
        out = _ID.sub("[ID]", out)
        out = _SSN.sub("[ID]", out)
        out = _NHS_NUMBER.sub("[ID]", out)
        out = _STREET.sub("[ADDRESS]", out)
        out = _NAMED_STREET.sub("[ADDRESS]", out)
        out = _UK_POSTCODE.sub("[POSTCODE]", out)
        out = _US_STATE_ZIP.sub("[POSTCODE]", out)
        out = _ZIP.sub("[POSTCODE]", out)
        out = _PHONE.sub(_phone_or_keep, out)
        out = _HANDLE.sub("[NAME]", out)
        for name in known_names:
            if len(name) >= 3 and not _is_vocabulary(name):
                out = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", "[NAME]", out, flags=re.IGNORECASE)
        out = _TITLE_NAME.sub("[NAME]", out)
        out = _sub_group(_RELATIVE_NAME, "[NAME]", out)
        out = _sub_group(_INTRO_NAME, "[NAME]", out)
        out = _sub_group(_GREETING, "[NAME]", out)
        out = _sub_group(_SIGN_OFF, "[NAME]", out)
        out = _INITIALS.sub("[NAME]", out)
        return re.sub(r"\[NAME\](?:\s+\[NAME\])+", "[NAME]", out)


def _phone_or_keep(match: re.Match[str]) -> str:
    """Phone numbers have 9 to 15 digits; doses, dates and counts are left alone."""
    digits = sum(c.isdigit() for c in match.group(0))
    return "[PHONE]" if 9 <= digits <= 15 else match.group(0)


_PHI_PLACEHOLDERS = {
    "NAME": "[NAME]",
    "ADDRESS": "[ADDRESS]",
    "PHONE_OR_FAX": "[PHONE]",
    "EMAIL": "[EMAIL]",
    "ID": "[ID]",
    "URL": "[URL]",
    "DATE": "[DATE]",
    "AGE": "[AGE]",
    "PROFESSION": "[PROFESSION]",
}
# detect_phi accepts up to 20,000 UTF-8 bytes a call.
_PHI_MAX_CHARS = 5000


class ComprehendMedicalRedactor:
    """Amazon Comprehend Medical DetectPHI, then the rules as a second pass (defence in depth).

    `client` is a boto3 `comprehendmedical` client. Ages and dates are kept unless asked for:
    they are not identifying on their own and the safety team needs them.
    """

    def __init__(
        self,
        client: Any,
        *,
        min_score: float = 0.5,
        types: frozenset[str] = frozenset({"NAME", "ADDRESS", "PHONE_OR_FAX", "EMAIL", "ID", "URL"}),
        fallback: Redactor | None = None,
    ) -> None:
        self._client = client
        self._min_score = min_score
        self._types = types
        self._fallback = fallback if fallback is not None else RuleRedactor()

    def redact(self, text: str, *, known_names: Iterable[str] = ()) -> str:
        pieces = []
        for start in range(0, len(text), _PHI_MAX_CHARS):
            pieces.append(self._redact_chunk(text[start : start + _PHI_MAX_CHARS]))
        return self._fallback.redact("".join(pieces), known_names=known_names)

    def _redact_chunk(self, chunk: str) -> str:
        if not chunk.strip():
            return chunk
        entities = self._client.detect_phi(Text=chunk).get("Entities", [])
        spans = sorted(
            (
                (e["BeginOffset"], e["EndOffset"], _PHI_PLACEHOLDERS.get(e["Type"], f"[{e['Type']}]"))
                for e in entities
                if e.get("Type") in self._types and e.get("Score", 1.0) >= self._min_score
            ),
            reverse=True,
        )
        out = chunk
        last_start = len(chunk) + 1
        for begin, end, placeholder in spans:
            if end > last_start:
                continue  # overlapping entity: the later one is already replaced
            out = out[:begin] + placeholder + out[end:]
            last_start = begin
        return out


def contains_words(text: str, words: Iterable[str]) -> set[str]:
    """Which of the words appear in the text as whole tokens (for checks that redaction held)."""
    tokens = {t.text for t in tokenize(text)}
    return {w for w in words if w.lower() in tokens}
