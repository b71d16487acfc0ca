"""Case summaries: the structured extractive template (default) and an endpoint's, checked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from pv.models import CaseFacts, Channel, SourceDocument

from .lexicon import lexicon
from .text import tokenize

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

    def summarize(self, document: SourceDocument, facts: CaseFacts) -> str:
        reporter = _REPORTERS.get(document.channel, "Reporter")
        if facts.patient == "patient":
            reporter += " (a healthcare professional)"
        who = {None: "", "reporter": "", "patient": " in a patient"}.get(
            facts.patient, f" in their {facts.patient}"
        )
        what = join_words(facts.events) or "a suspected adverse event (no event term recognised)"
        started = any(
            t.text in {"start", "started", "starting", "began", "new", "switched"}
            for t in tokenize(document.text)
        )
        if facts.suspect_drugs:
            link = "after starting" if started else "with"
            parts = [f"{reporter} reports {what}{who} {link} {join_words(facts.suspect_drugs)}."]
        else:
            parts = [f"{reporter} reports {what}{who}; suspect drug not identified."]
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
        denied = _unique(m.normalized for m in facts.mentions if m.negated and m.role == "suspect")
        if denied:
            parts.append(f"Denies {join_words(denied)}.")
        indications = _unique(
            m.normalized for m in facts.mentions if m.role == "indication" and not m.negated
        )
        if indications:
            parts.append(f"Indication: {join_words(indications)}.")
        if facts.language and facts.language != "en":
            parts.append(f"Report in language '{facts.language}': events not extracted, needs human review.")
        if facts.missing_elements:
            parts.append(
                f"Follow-up needed: {', '.join(e.replace('_', ' ') for e in facts.missing_elements)}."
            )
        return " ".join(parts)


def _is_important(normalized: str) -> bool:
    term = lexicon().lookup(tuple(t.text for t in tokenize(normalized)))
    return term is not None and "ime" in term.flags


def _unique(values: Any) -> list[str]:
    return list(dict.fromkeys(values))


class EndpointSummarizer:
    """An abstractive summary from the summarizer endpoint (request {"inputs": [text]}).

    The answer is [{"summary_text": ...}] (or "generated_text", or a bare string). It is
    rejected (SummarizerError) when it names a drug or an event the case facts do not hold:
    the model must not invent. assess_case then uses the extractive summary.
    """

    def __init__(self, invoke: Callable[[dict[str, Any]], Any]) -> None:
        self._invoke = invoke

    def summarize(self, document: SourceDocument, facts: CaseFacts) -> str:
        answer = self._invoke({"inputs": [document.text]})
        summary = _summary_text(answer)
        check_grounded(summary, facts)
        return summary


def _summary_text(answer: Any) -> str:
    item = answer[0] if isinstance(answer, list) and answer else answer
    if isinstance(item, dict):
        item = item.get("summary_text", item.get("generated_text"))
    if not isinstance(item, str) or not item.strip():
        raise SummarizerError("summarizer response has no summary text")
    return item.strip()


def check_grounded(summary: str, facts: CaseFacts) -> None:
    """Raise SummarizerError when the summary names a drug or event absent from the facts."""
    known = {m.normalized for m in facts.mentions} | set(facts.suspect_drugs) | set(facts.events)
    invented = sorted({m.term.normalized for m in lexicon().match(tokenize(summary))} - known)
    if invented:
        raise SummarizerError(f"summary names {len(invented)} drug/event term(s) not in the source")
