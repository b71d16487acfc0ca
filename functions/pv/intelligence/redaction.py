"""Personal data out of text: typed placeholders ([NAME], [PHONE] ...) by rules or by Comprehend Medical."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from itertools import accumulate
from typing import Any, Protocol

from pv.case_models import CaseFacts
from pv.models import SourceDocument

from .lexicon import lexicon
from .text import tokenize, word_set, words


class Redactor(Protocol):
    """Replaces personal data in a text with typed placeholders."""

    def redact(self, text: str, *, known_names: Iterable[str] = ()) -> str: ...


_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_URL = re.compile(r"\bhttps?://\S+|\bwww\.\S+", re.IGNORECASE)
_HANDLE = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{2,30}\b")
_DATE = (
    r"(?:\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{4}[/.-]\d{1,2}[/.-]\d{1,2}|"
    r"(?:the\s+)?\d{1,2}(?:st|nd|rd|th)?(?:\s+of)?\s+[A-Z][a-z]+\.?,?\s+(?:\d{4}|'\d{2})|"
    r"[A-Z][a-z]+\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+(?:\d{4}|'\d{2}))"
)
_DOB = re.compile(
    rf"\b(?:d\.?o\.?b\b\.?|date of birth|born(?: on)?|birth ?date|birthday)\s*(?:is|was|:|-)?\s*{_DATE}",
    re.IGNORECASE,
)
# A date given in answer to a question about the date of birth ("... date of birth?\nIt's 2 June 2019").
_DOB_ANSWER = re.compile(
    rf"\b(?:d\.?o\.?b\b\.?|date of birth|birth ?date|birthday)[^?\n]{{0,80}}\?"
    rf"\s*(?:[^\s?]+\s+){{0,6}}?({_DATE})",
    re.IGNORECASE,
)
_ID = re.compile(
    r"\b(?:MRN|medical record (?:number|no\.?)|record (?:number|no\.?)|hospital (?:number|no\.?)|"
    r"NHS (?:number|no\.?)|"
    r"patient (?:id|number|no\.?)|policy (?:number|no\.?)|member (?:id|number)|insurance (?:id|number)|"
    r"account (?:number|no\.?)|reference (?:number|no\.?)|(?:our |your |my )?ref(?:erence)?|chi number|"
    r"(?:case|unit|file|client|customer|claim|ticket|complaint|enquiry|study|subject) "
    r"(?:id|number|no\.?|ref)|"
    r"ssn|social security (?:number|no\.?)|(?:passport|licen[cs]e) (?:number|no\.?)|id(?=\s*[:#]))"
    r"\s*(?:is|was|:|#|-)?\s*(?P<value>(?:[A-Z]{1,4}[-/ ]?)?\d[\dA-Z]*(?:[/-][\dA-Z]*\d[\dA-Z]*| \d{3,}\b)*)",
    re.IGNORECASE,
)
_NHS_NUMBER = re.compile(r"\b\d{3} \d{3} \d{4}\b")
_SSN = re.compile(r"\b\d{3}-\d{2}-\d{4}\b")
_PHONE = re.compile(
    r"(?<![\w/.-])"
    r"(?:\+\d{1,3}[\s.-]?(?:\(0?\d{1,5}\)[\s.-]?)?\d{1,5}|(?:\b1[\s.-])?\(0?\d{1,5}\)[\s.-]?\d{2,8}|(?:\b1[\s.-])?\d{2,8})"
    r"(?:[\s.-]\d{2,8}){1,5}"
    r"(?:[ \t]*[,;]?[ \t]*(?:(?:ext|extn|extension)\.?[ \t]*|x)\d{1,6})?"  # an extension
    r"(?![\w/-])(?!\.\d)",
    re.IGNORECASE,
)
# A number written without separators: UK-style with its trunk 0, or international with its +.
_BARE_PHONE = re.compile(r"(?<![\w/.+-])(?:\+\d{10,14}|0\d{9,10})(?![\w/-])(?!\.\d)")
# A 7-digit local number (US exchanges start 2-9), and the units that make such digits a dose range.
_LOCAL_PHONE = re.compile(r"[2-9]\d{2}[ -]\d{4}")
_UNIT = re.compile(
    r"\s*(?:mg|mcg|µg|ug|g|kg|ml|l|iu|units?|mmol|micrograms?|milligrams?|grams?|%)(?![a-z])", re.IGNORECASE
)
_STREET_TYPES = (
    r"street|st|road|rd|avenue|ave|lane|ln|drive|dr|close|court|ct|place|pl|way|crescent|terrace|"
    r"boulevard|blvd|gardens|grove|square|sq|parkway|highway|hwy|row|mews|walk"
)
_STREET = re.compile(
    rf"\b\d{{1,5}}[A-Za-z]?,?\s+(?:(?:[A-ZÀ-ÿ][\w'’-]+|\d+(?:st|nd|rd|th))\s+){{1,3}}(?:{_STREET_TYPES})\b\.?"
    r"(?:,?\s+(?:apt|apartment|flat|unit|suite)\.?\s*#?\w+)?",
    re.IGNORECASE,
)
_NAMED_STREET = re.compile(rf"\b(?:[A-Z][a-z'-]+\s+){{1,2}}(?:{_STREET_TYPES.replace('|dr|', '|')})\b")
# Continental streets: the type first ("12 rue des Acéries"), or the number after ("Hauptstraße 5",
# "Keizersgracht 123", "Calle Mayor 12").
_EU_STREET = re.compile(
    r"\b\d{1,5}[a-z]?,?[ \t]+(?i:rue|boulevard|chemin|allée|impasse|quai|calle|avenida|carrer|rua|travessa|"
    r"viale|piazza)(?:[ \t]+[\w'’-]+){1,4}|"
    r"\b(?:(?:Calle|Avenida|Via|Viale|Piazza|Corso|Rua|Carrer|Paseo|Plaza)"
    r"(?:[ \t]+(?:de|del|la|di|da|do|dos|della|[A-ZÀ-Þ][\w'’-]*)){1,3}?|"
    r"(?=[A-ZÀ-Þ])[\w'’-]*?(?i:straße|strasse|weg|gasse|platz|allee|damm|gracht|straat|laan|plein|"
    r"vej|gatan|vägen|veien))[ \t]+\d{1,4}[a-z]?\b"
)
_FLAT = re.compile(r"\b(?:[Ff]lat|[Aa]pt|[Aa]partment|[Ss]uite|Unit)\.?[ \t]*#?\d{1,5}[A-Za-z]?\b")
_PO_BOX = re.compile(r"\bP\.?[ \t]?O\.?[ \t]+Box[ \t]+\d{1,6}\b", re.IGNORECASE)
_UK_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b")
_US_STATE_ZIP = re.compile(r"\b[A-Z]{2}\s+\d{5}(?:-\d{4})?\b")
_ZIP = re.compile(
    r"\b(?:zip(?: code)?|postcode|post code|postal code)\s*:?\s*"
    r"(?:\d{5}(?:-\d{4})?|[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}|\d{4})\b",
    re.IGNORECASE,
)
# A continental postcode before its town, at the start of a line or after a comma ("69003 Lyon",
# "1015 CJ Amsterdam"); four bare digits only right after a street ("Bahnhofstrasse 5, 8001 Zürich").
_EU_POSTCODE = re.compile(
    r"(?:^|(?<=,))[ \t]*((?:[A-Z]{1,2}-)?(?:\d{5}|\d{4}[ \t]?[A-Z]{2}|(?<=\[ADDRESS\],[ \t])\d{4}))"
    r"(?=[ \t]+[A-ZÀ-Þ][a-zß-ÿ])",
    re.MULTILINE,
)

# Letters of names, accented ones included (Python's re has no \p{Lu}).
_UPPER = "".join(c for c in map(chr, range(0x41, 0x250)) if c.isalpha() and c.isupper())
_LOWER = "".join(c for c in map(chr, range(0x61, 0x250)) if c.isalpha() and c.islower())
# Siobhan, O'Neill, McAllister, D'Angelo, Carver-Smith, García, Denise's
_NAME_WORD = rf"(?:[{_UPPER}]['’])?(?:Ma?c)?[{_UPPER}][{_LOWER}]+(?:[-'’][{_UPPER}]?[{_LOWER}]+)?"
_FULL_NAME = rf"(?:[A-Z]\.[ \t]*)?{_NAME_WORD}(?:[ \t]+(?:[A-Z]\.[ \t]*)?{_NAME_WORD}){{0,2}}"
_TITLES = r"Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Professor|Doctor|Nurse|Sister|Rev"
_TITLE_NAME = re.compile(rf"\b(?:{_TITLES})\.?[ \t]+(?:[A-Z]\.[ \t]*)*{_FULL_NAME}")
_INTRO_NAME = re.compile(
    rf"\b(?:[Mm]y name is|[Mm]y name's|[Nn]ame:|I am|I'm|[Tt]his is|[Cc]alled|[Ss]igned)[ \t]+({_FULL_NAME})"
)
# A field that names a person: "Reporter: Sandra Kowalski", "Patient name: Walter Brennan".
_LABELLED_NAME = re.compile(
    r"^[ \t>]*(?i:reporter|patient|caller|contact|pharmacist|prescriber|gp|doctor|consultant|nurse|carer|"
    rf"parent|guardian|signed|sender|recipient)(?i:'s)?(?i:[ \t]+name)?[ \t]*:[ \t]*({_FULL_NAME})",
    re.MULTILINE,
)
_GREETING = re.compile(
    rf"^[ \t]*(?:[Dd]ear|[Hh]i|[Hh]ello|[Hh]ey|[Gg]ood (?:morning|afternoon|evening))[ \t]+({_FULL_NAME})\b",
    re.MULTILINE,
)
_CLOSINGS = (
    r"[Rr]egards|[Kk]ind regards|[Bb]est regards|[Bb]est wishes|[Bb]est|[Tt]hanks|[Tt]hank you|[Cc]heers|"
    r"[Ss]incerely|[Yy]ours(?: sincerely| truly| faithfully)?|[Mm]any thanks|[Ww]arm regards|[Ss]ent by|"
    r"[Aa]ll the best|[Tt]hanks again|[Tt]hanks in advance|[Bb]est,? regards|[Rr]espectfully"
)
_SIGN_OFF = re.compile(
    rf"\b(?:{_CLOSINGS})\s*[,.!-]?\s+({_FULL_NAME})[ \t]*\.?[ \t]*$",
    re.MULTILINE,
)
# Header lines of a forwarded or quoted message in the body: every display name in them.
_HEADER_LINE = re.compile(
    r"^[ \t>]*(?i:from|to|cc|bcc|reply-to|sender)[ \t]*:[ \t]*(\S[^\n]*)$", re.MULTILINE
)
# "On Mon, 3 Mar 2025, Rosa Delgado wrote:" and "Rosa Delgado <[EMAIL]> wrote:"
_ATTRIBUTION_LINE = re.compile(
    r"^[ \t>]*(\S[^\n]*?)[ \t]+(?:wrote|writes|a écrit|schrieb|escribió)[ \t]*:[ \t]*$", re.MULTILINE
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
    "Sure Fine Okay Ok Mon Tue Tues Wed Thu Thur Thurs Fri Sat Sun Jan Feb Mar Apr Jun Jul Aug Sep "
    "Sept Oct Nov Dec Mr Mrs Ms Miss Mx Dr Prof Professor Sister Rev Male Female Unknown Anonymous "
    "Adult Child Infant Elderly Young Old Pregnant Man Woman Lady Boy Girl Baby Teenager Toddler "
    "Newborn Self Myself Wrote Sent Subject Date Re Fwd Fw Original Message Forwarded Yours Sincerely "
    "Faithfully Truly Cordially Warmly Respectfully Care Safe Bye Ciao Cheers Best Wishes Warm Love "
    "Urgent Question Help Update Important Note"
)
# Words of an organisation's display name ("Medical Information <medinfo@...>"): not a person's.
_ORGANISATION_WORDS = word_set(
    "Information Info Team Support Department Dept Services Service Sales Safety Pharmacovigilance "
    "Inbox Office Desk Enquiries Enquiry Customer Customers Medical Pharmacy Pharmaceuticals Pharma "
    "Ltd Limited Inc LLC GmbH Clinic Hospital Surgery Practice Centre Center Group Helpdesk Admin "
    "Reception Unit Ward Trust Line Care"
)
# Qualifications after a name on a signature line: MD, RN, PharmD, MRPharmS, PhD.
_CREDENTIAL = r"[A-Z][A-Za-z]{0,7}[A-Z]\b"


# A pass finds spans (in the text as the earlier passes left it) to replace with its placeholder.
_Pass = Callable[[str], list[tuple[int, int]]]


def _is_name_word(word: str) -> bool:
    return word not in _NOT_NAMES and not _is_vocabulary(word)


def _trimmed(
    text: str, start: int, end: int, is_name: Callable[[str], bool] = _is_name_word
) -> tuple[int, int] | None:
    """The span of text[start:end] without its leading and trailing words that are not names."""
    words = list(re.finditer(r"\S+", text[start:end]))
    while words and not is_name(words[0].group()):
        words.pop(0)
    while words and not is_name(words[-1].group()):
        words.pop()
    return (start + words[0].start(), start + words[-1].end()) if words else None


def _name_groups(pattern: re.Pattern[str]) -> _Pass:
    """Group 1 of each match (the name), trimmed of words that are not names; the words around stay."""

    def spans(text: str) -> list[tuple[int, int]]:
        return [span for m in pattern.finditer(text) if (span := _trimmed(text, *m.span(1)))]

    return spans


_NAME_RUN = re.compile(_FULL_NAME)


def _name_runs(pattern: re.Pattern[str]) -> _Pass:
    """Every run of capitalised words in group 1 of each match (the display names of a header
    line), trimmed like a signature's; a run with an organisation's word is no person."""

    def spans(text: str) -> list[tuple[int, int]]:
        found = []
        for match in pattern.finditer(text):
            for run in _NAME_RUN.finditer(text, match.start(1), match.end(1)):
                if any(word in _ORGANISATION_WORDS for word in run.group().split()):
                    continue
                if span := _trimmed(text, *run.span(), _is_signature_word):
                    found.append(span)
        return found

    return spans


_NAME_LINE = re.compile(
    rf"[ \t>]*(?:(?:{_TITLES})\.?[ \t]+)?({_FULL_NAME})(?:,?[ \t]+{_CREDENTIAL})*[ \t]*[,.]?[ \t]*"
)
_CLOSING_LINE = re.compile(rf"[ \t>]*(?:(?:{_CLOSINGS})[ \t]*[,.!]*|--|—)[ \t]*")
# Where a forwarded or quoted message begins: a rule, a quote mark, a header or attribution line.
_QUOTED_PART = re.compile(r"[ \t>]*(?:-{2,}|_{3,}|>|(?i:from|sent|to)[ \t]*:|.*\bwrote:)")


def _signature_names(text: str) -> list[tuple[int, int]]:
    """Names alone on their line that sign a message (`_signs`). Every word must be a name, so
    "Lisinopril" or "Rash" alone on a line stays."""
    lines = text.split("\n")
    starts = list(accumulate((len(line) + 1 for line in lines), initial=0))
    found = []
    previous = None  # the last line before this one that is not blank
    for i, line in enumerate(lines):
        match = _NAME_LINE.fullmatch(line)
        if (
            match
            and all(_is_signature_word(w) for w in match.group(1).split())
            and _signs(lines, i, previous)
        ):
            found.append((starts[i] + match.start(1), starts[i] + match.end(1)))
        if line.strip():
            previous = i
    return found


def _signs(lines: list[str], i: int, previous: int | None) -> bool:
    """Whether name line i signs: after a closing line ("Kind regards,") or the "-- " delimiter,
    or after a blank line as the first line of the last paragraph before the end of the text or a
    forwarded or quoted message, with at most five lines under it (title, contact lines). A
    lone word signs only as a paragraph of its own: under it, it would be a heading."""
    if previous is None:
        return False
    if _CLOSING_LINE.fullmatch(lines[previous]):
        return True
    if previous == i - 1:
        return False
    end = next((j for j in range(i + 1, len(lines)) if not lines[j].strip()), len(lines))
    if end - i > 6 or (end > i + 1 and len(lines[i].split()) == 1):
        return False
    rest = next((lines[j] for j in range(end, len(lines)) if lines[j].strip()), None)
    return rest is None or bool(_QUOTED_PART.match(rest))


def _is_signature_word(word: str) -> bool:
    return _is_name_word(word) and word not in _NOT_SURNAMES and word not in _ORGANISATION_WORDS


def _name_forms(names: Iterable[str]) -> list[str]:
    """The words of names found in a text that can stand alone for the person elsewhere in it:
    "Rosa" and "Delgado" of "From: Rosa Delgado", "Weber" of a signature's "Anna Weber"."""
    forms = set()
    for name in names:
        for word in re.findall(_NAME_WORD, name):
            word = re.sub(r"['’]s$", "", word)
            if len(word) >= 3 and _is_signature_word(word):
                forms.add(word)
    return sorted(forms, key=len, reverse=True)


def _words_of(forms: list[str]) -> re.Pattern[str]:
    """The forms as whole words, case as written (a name found in the text, not a known one)."""
    return re.compile(rf"(?<!\w)(?:{'|'.join(map(re.escape, forms))})(?!\w)")


# A capitalised word or two right after a redacted name, on the same line: the rest of the name
# ("[NAME] Pike" when only the first name was known, "[NAME] Carver" of a sign-off).
_AFTER_NAME = re.compile(rf"\[NAME\][ \t]+({_NAME_WORD}(?:[ \t]+{_NAME_WORD})?)\b")
# Capitalised words that start a sentence or a clause after a name ("Thanks [NAME] Have a good day").
_NOT_SURNAMES = word_set(
    "He She It We You They My His Her Its Our Your Their This That These Those Is Was Are Were Am "
    "Be Been Has Have Had Do Does Did Will Would Can Could Should Shall May Might Must What When "
    "Where Why How Who Which If Yes No Thank Best Kind Many Love Regards Cheers Sent From"
)


def _rest_of_name(text: str) -> list[tuple[int, int]]:
    """The surname after a redacted name: its capitalised words up to the first one that is not a
    name (a drug or event word, a common word), so "[NAME] Lipitor" keeps the drug."""
    found = []
    for match in _AFTER_NAME.finditer(text):
        kept = []
        for word in re.finditer(r"\S+", match.group(1)):
            if word.group() in _NOT_NAMES or word.group() in _NOT_SURNAMES or _is_vocabulary(word.group()):
                break
            kept.append(word)
        if kept:
            found.append((match.start(1) + kept[0].start(), match.start(1) + kept[-1].end()))
    return found


def _matches(pattern: re.Pattern[str], keep: Callable[[re.Match[str]], bool] | None = None) -> _Pass:
    def spans(text: str) -> list[tuple[int, int]]:
        return [m.span() for m in pattern.finditer(text) if keep is None or keep(m)]

    return spans


def _is_vocabulary(word: str) -> bool:
    """Drug and event words are never names ("Dear Lipitor team" keeps Lipitor); an abbreviation
    the vocabulary knows only in capitals is one only so written ("Aki" may be a name, "AKI" not)."""
    return lexicon().lookup((word.lower(),), in_capitals=word.isupper()) is not None


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
    NHS number is never half-replaced; names last, so placeholders are not read as names. A name
    found anywhere (a forwarded From: line, a signature) goes wherever else its words stand.
    `redact` and `personal_spans` run the same passes: one says what the text becomes, the other
    which characters of the original text that replaced.
    """

    def redact(self, text: str, *, known_names: Iterable[str] = ()) -> str:
        return _Redaction.run(text, known_names).text

    def personal_spans(self, text: str, *, known_names: Iterable[str] = ()) -> list[tuple[int, int]]:
        """The (start, end) character spans of `text` that `redact` replaces, in order, disjoint."""
        return _Redaction.run(text, known_names).spans()


class _Redaction:
    """A text being redacted pass by pass, remembering which original characters each of its
    characters stands for (a placeholder stands for all the characters it replaced)."""

    def __init__(self, text: str) -> None:
        self.source = text
        self.text = text
        # per character of self.text: (start, end) in the original, and the placeholder it is part
        # of; built at the first replacement (most sentences have nothing to replace)
        self._origin: list[tuple[int, int, str | None]] | None = None

    @property
    def origin(self) -> list[tuple[int, int, str | None]]:
        if self._origin is None:
            self._origin = [(i, i + 1, None) for i in range(len(self.text))]
        return self._origin

    @classmethod
    def run(cls, text: str, known_names: Iterable[str]) -> _Redaction:
        redaction = cls(text)
        for find, placeholder in _PASSES:
            redaction.replace(find(redaction.text), placeholder)
        for name in known_names:
            if len(name) >= 3 and not _is_vocabulary(name):
                pattern = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)", re.IGNORECASE)
                redaction.replace(_matches(pattern)(redaction.text), "[NAME]")
        found: list[str] = []
        for find in _NAME_FINDERS:
            spans = find(redaction.text)
            found.extend(redaction.text[a:b] for a, b in spans)
            redaction.replace(spans, "[NAME]")
        forms = _name_forms(found)
        if forms:
            redaction.replace(_matches(_words_of(forms))(redaction.text), "[NAME]")
        for find in (_rest_of_name, _matches(_NAMES_SIDE_BY_SIDE)):
            redaction.replace(find(redaction.text), "[NAME]")
        return redaction

    def replace(self, spans: list[tuple[int, int]], placeholder: str) -> None:
        """Replace each span (in the current text; left to right, disjoint) with the placeholder."""
        if not spans:
            return
        pieces: list[str] = []
        origin: list[tuple[int, int, str | None]] = []
        at = 0
        for start, end in spans:
            if end <= start:
                continue
            pieces.append(self.text[at:start])
            origin.extend(self.origin[at:start])
            pieces.append(placeholder)
            stands_for = (self.origin[start][0], self.origin[end - 1][1], placeholder)
            origin.extend([stands_for] * len(placeholder))
            at = end
        pieces.append(self.text[at:])
        origin.extend(self.origin[at:])
        self.text = "".join(pieces)
        self._origin = origin

    def spans(self) -> list[tuple[int, int]]:
        found: list[tuple[int, int]] = []
        for start, end, placeholder in self._origin or ():
            if not placeholder:
                continue
            if found and start <= found[-1][1]:
                found[-1] = (found[-1][0], max(found[-1][1], end))
            else:
                found.append((start, end))
        return found

    def found(self) -> list[tuple[str, str]]:
        """Each placeholder in the text, with the original text it stands for."""
        found: list[tuple[str, str]] = []
        previous = None
        for item in self._origin or ():
            start, end, placeholder = item
            if placeholder and item != previous:
                found.append((self.source[start:end], placeholder))
            previous = item
        return found


def _phone(match: re.Match[str]) -> bool:
    """Phone numbers have 9 to 15 digits, or are 7-digit local numbers (555-0139), and no unit
    follows them (500-1000 mg, 1 000 000 units); other doses, dates and counts are left alone."""
    if _UNIT.match(match.string, match.end()):
        return False
    digits = sum(c.isdigit() for c in match.group(0))
    return 9 <= digits <= 15 or bool(_LOCAL_PHONE.fullmatch(match.group(0)))


def _groups(pattern: re.Pattern[str], keep: Callable[[re.Match[str]], bool] | None = None) -> _Pass:
    """Group 1 of each match: the words around it only say what it is."""

    def spans(text: str) -> list[tuple[int, int]]:
        return [m.span(1) for m in pattern.finditer(text) if keep is None or keep(m)]

    return spans


def _town_follows(match: re.Match[str]) -> bool:
    """A postcode is followed by its town, not by a unit or a drug ("20000 Units", "10000 Aspirin")."""
    town = re.match(r"[ \t]+(\S+)", match.string[match.end() :])
    return town is not None and not _UNIT.match(town.group(1)) and not _is_vocabulary(town.group(1))


def _record_number(match: re.Match[str]) -> bool:
    return sum(c.isdigit() for c in match.group("value")) >= 4


_PASSES: list[tuple[_Pass, str]] = [
    (_matches(_EMAIL), "[EMAIL]"),
    (_matches(_URL), "[URL]"),
    (_matches(_DOB), "[DOB]"),
    (_groups(_DOB_ANSWER), "[DOB]"),
    (_matches(_ID, _record_number), "[ID]"),
    (_matches(_SSN), "[ID]"),
    (_matches(_NHS_NUMBER), "[ID]"),
    (_matches(_STREET), "[ADDRESS]"),
    (_matches(_EU_STREET), "[ADDRESS]"),
    (_matches(_NAMED_STREET), "[ADDRESS]"),
    (_matches(_FLAT), "[ADDRESS]"),
    (_matches(_PO_BOX), "[ADDRESS]"),
    (_matches(_UK_POSTCODE), "[POSTCODE]"),
    (_matches(_US_STATE_ZIP), "[POSTCODE]"),
    (_matches(_ZIP), "[POSTCODE]"),
    (_groups(_EU_POSTCODE, _town_follows), "[POSTCODE]"),
    (_matches(_PHONE, _phone), "[PHONE]"),
    (_matches(_BARE_PHONE), "[PHONE]"),
    (_matches(_HANDLE), "[NAME]"),
]
# After the document's known names; each finds names, whose words then go wherever else they
# stand in the text; then the surname after a name, and a title and names side by side, merge.
_NAME_FINDERS: list[_Pass] = [
    _matches(_TITLE_NAME),
    _name_runs(_HEADER_LINE),
    _name_runs(_ATTRIBUTION_LINE),
    _name_groups(_LABELLED_NAME),
    _name_groups(_RELATIVE_NAME),
    _name_groups(_INTRO_NAME),
    _name_groups(_GREETING),
    _name_groups(_SIGN_OFF),
    _signature_names,
    _matches(_INITIALS),
    _rest_of_name,
]
_NAMES_SIDE_BY_SIDE = re.compile(
    rf"\b(?:{_TITLES})\.?[ \t]+\[NAME\](?:[ \t]+\[NAME\])*|\[NAME\](?:[ \t]+\[NAME\])+"
)


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


def publishable(facts: CaseFacts, document: SourceDocument, *, redactor: Redactor | None = None) -> CaseFacts:
    """What of a case's facts an alert may carry, whatever the extractor said: no drug or event
    name that is personal data, and the summary redacted again.

    A name is personal data when the redactor, given the document's known names, replaces all of
    it on its own, or when it occurs in the document and no occurrence survives the document's
    redaction ("okafor" of "Dr Okafor", "bs7 8qt" of an address, "555-0139" of a contact line).
    Such names leave the alert's drugs and events, and the summary calls them [REDACTED]; the
    stored case (the encrypted table) keeps them for reviewers. A name only partly redacted is
    published redacted. Whatever the rules find in the document read as one text (a date of birth
    given in the turn after the question, a forwarded sender's name) is also taken out of the
    summary wherever it stands, alone or in part ("Rosa" of "From: Rosa Delgado").
    """
    redactor = redactor or RuleRedactor()
    known_names = name_variants(document.metadata)
    texts = [u.text for u in document.units]
    original = [words(text) for text in texts]
    # placeholders out: "[DOB]" must not count as the word "dob" surviving
    redacted = [words(_PLACEHOLDER.sub(" ", redactor.redact(t, known_names=known_names))) for t in texts]

    def published(name: str) -> str | None:
        named = words(name)
        if any(_occurs(named, t) for t in original) and not any(_occurs(named, t) for t in redacted):
            return None
        alone = redactor.redact(name, known_names=known_names)
        return alone if _PLACEHOLDER.sub("", alone).strip(" ,.;:-") else None

    names = {*facts.suspect_drugs, *facts.events, *(m.normalized for m in facts.mentions)}
    public = {name: published(name) for name in names}
    summary = facts.summary
    for name in sorted((n for n, p in public.items() if p != n), key=len, reverse=True):
        replacement = public[name] or "[REDACTED]"
        summary = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", replacement, summary, flags=re.IGNORECASE)
    for form, placeholder in _document_personal_data(texts, known_names):
        summary = re.sub(rf"(?<!\w){re.escape(form)}(?!\w)", placeholder, summary)
    return facts.model_copy(
        update={
            "suspect_drugs": [p for n in facts.suspect_drugs if (p := public[n])],
            "events": [p for n in facts.events if (p := public[n])],
            "summary": redactor.redact(summary, known_names=known_names),
        }
    )


_PLACEHOLDER = re.compile(r"\[[A-Z_]+\]")


def _document_personal_data(texts: list[str], known_names: Iterable[str]) -> list[tuple[str, str]]:
    """What the rules redact in the texts read as one, each with its placeholder, and the parts
    that can stand for it alone: a name's words, a number without its label ("00482913" of
    "MRN is 00482913"), a street without its house number. Longest first."""
    forms: dict[str, str] = {}
    for original, placeholder in _Redaction.run("\n".join(texts), known_names).found():
        if placeholder == "[NAME]":
            forms.update(dict.fromkeys(_name_forms([original]), placeholder))
            continue
        parts = [original, original[next((i for i, c in enumerate(original) if c.isdigit()), 0) :]]
        if street := re.match(r"\d+\w?,?\s+(\D{6,})$", original):
            parts.append(street.group(1))
        forms.update((part, placeholder) for part in parts if len(part) >= 5)
    return sorted(forms.items(), key=lambda item: len(item[0]), reverse=True)


def _occurs(words: list[str], text: list[str]) -> bool:
    """Whether the words appear in the text's words as a run."""
    n = len(words)
    return n > 0 and any(text[i : i + n] == words for i in range(len(text) - n + 1))


def contains_words(text: str, words: Iterable[str]) -> set[str]:
    """Which of the words appear in the text as whole tokens (for checks that redaction held)."""
    tokens = {t.text for t in tokenize(text)}
    return {w for w in words if w.lower() in tokens}


def redacted_with_spans(
    text: str, *, known_names: Iterable[str] = ()
) -> tuple[str, list[tuple[int, int, int, int]]]:
    """`RuleRedactor().redact(text)`, and where each placeholder stands: (start, end) in `text`
    and (start, end) in the redacted text, in order (for offsets that must follow the redaction)."""
    redaction = _Redaction.run(text, known_names)
    placed: list[tuple[int, int, int, int]] = []
    previous = None
    for at, item in enumerate(redaction._origin or ()):
        start, end, placeholder = item
        if placeholder is None:
            previous = None
            continue
        if item == previous and placed:
            placed[-1] = (start, end, placed[-1][2], at + 1)
        else:
            placed.append((start, end, at, at + 1))
        previous = item
    return redaction.text, placed
