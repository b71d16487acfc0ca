"""Case summaries: the structured extractive template (default) and an endpoint's, checked."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from pv.case_models import CaseFacts
from pv.models import Channel, SourceDocument

from .lexicon import lexicon
from .patients import reporter_qualification
from .text import tokenize

if TYPE_CHECKING:
    from .reading import DocumentReading

_REPORTERS = {Channel.EMAIL: "Email sender", Channel.CALL: "Caller", Channel.SOCIAL: "Social media user"}
_CRITERIA_WORDS = {
    "death": "death",
    "life_threatening": "life-threatening",
    "hospitalisation": "hospitalisation",
    "disability": "disability",
    "congenital_anomaly": "congenital anomaly",
    "medically_important": "medically important event",
}
_MAX_LISTED = 6


class Summarizer(Protocol):
    """Writes the case summary from the document and the facts found (before redaction)."""

    def summarize(self, document: SourceDocument, facts: CaseFacts) -> str: ...


class SummarizerError(RuntimeError):
    """A summary that cannot be used: malformed, empty, or naming what the text does not."""


def join_words(items: list[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    items = items[:_MAX_LISTED]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


class ExtractiveSummarizer:
    """The default: a template filled only with what was extracted, so it cannot invent anything.

    "Caller reports dizziness and syncope after starting lisinopril. Serious: hospitalisation."
    """

    def summarize(
        self, document: SourceDocument, facts: CaseFacts, *, reading: DocumentReading | None = None
    ) -> str:
        """The summary of `facts`, from the document's reading (`assess_case` passes the one it
        made; without it the document is read here)."""
        if reading is None:
            from .reading import read_document

            reading = read_document(document)
        reporter = _REPORTERS.get(document.channel, "Reporter")
        qualification = reporter_qualification(
            reading.folded, facts.patient, reading.person_words, reading.words
        )
        if qualification is not None:
            reporter += f" (a {qualification})"
        who = {None: "", "reporter": "", "patient": " in a patient"}.get(
            facts.patient, f" in their {facts.patient}"
        )
        what = join_words(facts.events) or "a suspected adverse event (no event term recognised)"
        started = _started_a_suspect(reading, facts)
        if facts.suspect_drugs:
            link = "after starting" if started else "with"
            parts = [f"{reporter} reports {what}{who} {link} {join_words(facts.suspect_drugs)}."]
        else:
            parts = [f"{reporter} reports {what}{who}; suspect drug not identified."]
        from_feed = [m.normalized for m in facts.mentions if m.source == "feed" and m.role == "suspect"]
        if from_feed:
            parts.append(
                f"The text names no drug: {join_words(from_feed)} is the post's product (from the feed)."
            )
        if facts.serious:
            names = [_CRITERIA_WORDS[c.criterion] for c in facts.seriousness_criteria]
            important = [
                m.normalized for m in facts.mentions if m.role == "suspect" and _is_important(m.normalized)
            ]
            if important and "medically important event" in names:
                names[names.index("medically important event")] += f" ({join_words(sorted(set(important)))})"
            parts.append(f"Serious: {', '.join(names)}.")
        else:
            parts.append("Not serious on the reported facts.")
        denied = denied_events(facts)
        if denied:
            parts.append(f"Denies {join_words(denied)}.")
        indications = _unique(
            m.normalized for m in facts.mentions if m.role == "indication" and not m.negated
        )
        if indications:
            parts.append(f"Indication: {join_words(indications)}.")
        concomitant = _unique(
            m.normalized
            for m in facts.mentions
            if m.role == "concomitant" and m.normalized not in facts.suspect_drugs
        )
        if concomitant:
            parts.append(f"Concomitant: {join_words(concomitant)}.")
        if facts.language and not reading.read_in_full:
            parts.append(f"Report in language '{facts.language}': events not extracted, needs human review.")
        if facts.missing_elements:
            parts.append(
                f"Follow-up needed: {', '.join(e.replace('_', ' ') for e in facts.missing_elements)}."
            )
        return " ".join(parts)


def _started_a_suspect(reading: DocumentReading, facts: CaseFacts) -> bool:
    """A sentence says something was started or new, and names a suspect drug or no drug at all
    ("since I started it"): not one naming only a treatment or a concomitant drug ("I started
    metformin for my diabetes years ago")."""
    suspects = set(facts.suspect_drugs)
    others = {m.normalized for m in facts.mentions if m.role in ("treatment", "concomitant")} - suspects
    names = [
        ([t.text for t in tokenize(m.text)], m.normalized in suspects)
        for m in facts.mentions
        if m.normalized in suspects or m.normalized in others
    ]
    starting = reading.rules.cues.summary_starting
    for sentence_tokens in reading.tokens:
        words = [t.text for t in sentence_tokens]
        if not starting.intersection(words):
            continue
        named = [suspect for run, suspect in names if _has_run(words, run)]
        if not named or any(named):
            return True
    return False


def _has_run(words: list[str], run: list[str]) -> bool:
    n = len(run)
    return n > 0 and any(words[i : i + n] == run for i in range(len(words) - n + 1))


def _is_important(normalized: str) -> bool:
    term = lexicon().lookup(tuple(t.text for t in tokenize(normalized)))
    return term is not None and "ime" in term.flags


def _unique(values: Any) -> list[str]:
    return list(dict.fromkeys(values))


def denied_events(facts: CaseFacts) -> list[str]:
    """Events the reporter denies ("no rash"); a drug they say gives no trouble is not one."""
    return _unique(
        m.normalized for m in facts.mentions if m.negated and m.role == "suspect" and m.kind != "drug"
    )
