"""Summary grounding, above assessment: an endpoint's summary is read by the rules the source was
(`assess_case`) and kept only when it names and states what the case facts hold.

The extractive template (pv.intelligence.summary) is below assessment: `assess_case` writes it. The
endpoint summarizer is here, above it, so that `assess` and `summary` do not import each other.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pv.case_models import CaseFacts, Mention
from pv.models import Channel, SourceDocument, TextUnit
from pv.sentences import split_sentences

from .assess import assess_case
from .lexicon import lexicon
from .patients import english_words
from .summary import SummarizerError, denied_events
from .text import tokenize, words

_NOT_NOW = ("family", "history")  # roles of an event that is not the patient's current reaction


class EndpointSummarizer:
    """An abstractive summary from the summarizer endpoint (request {"inputs": [text]}).

    The answer is [{"summary_text": ...}] (or "generated_text", or a bare string). It is
    rejected (SummarizerError) when it names a drug or an event the case facts do not hold, or
    states one otherwise than the reporter did (`check_grounded`): the model must not invent or
    flip. assess_case then uses the extractive summary.
    """

    def __init__(self, invoke: Callable[[dict[str, Any]], Any]) -> None:
        self._invoke = invoke

    def summarize(self, document: SourceDocument, facts: CaseFacts) -> str:
        answer = self._invoke({"inputs": [document.text]})
        summary = _summary_text(answer)
        check_grounded(summary, facts, source=document.text)
        return summary


def _summary_text(answer: Any) -> str:
    item = answer[0] if isinstance(answer, list) and answer else answer
    if isinstance(item, dict):
        item = item.get("summary_text", item.get("generated_text"))
    if not isinstance(item, str) or not item.strip():
        raise SummarizerError("summarizer response has no summary text")
    return item.strip()


def check_grounded(summary: str, facts: CaseFacts, *, source: str = "") -> None:
    """Raise SummarizerError when the summary names a drug or event absent from the facts, or
    states one otherwise than the reporter did.

    The summary is read as a document, by the rules the source was read with (`assess_case`:
    negation, hedging, indication, history, relatives, treatments), and rejected when it

    - names a drug or an event the facts do not hold at all, unless every word of the event's
      term stands in the `source` text ("ankle pain" for "pain in my heel and ankle": the source
      read more closely, not invented);
    - asserts an event (neither denied nor hedged, the patient's) that the facts hold only as
      denied ("reports rash" for "no rash"), or only as a relative's or a past one, unless the
      summary's sentence naming it names a relative ("her mother had a stroke": the rules read a
      relative only after "my" or "our");
    - denies an event the facts hold as having occurred and never as denied, and asserts it nowhere;
    - presents as a suspect (blames, or names without saying it treated a reaction) a drug the
      facts hold only as a treatment, a relative's, or one not taken.

    An event the facts hold only as hedged or as an indication is not a reason: those readings
    are looser than a denial ("taking sertraline for three weeks and I feel sick" reads the nausea
    as an indication). The message names reasons and counts, never terms.
    """
    said = _read_summary(summary)
    known = _with_broader(
        {m.normalized for m in facts.mentions} | set(facts.suspect_drugs) | set(facts.events)
    )
    source_words = set(words(source))
    invented = {
        m.normalized
        for m in said.mentions
        if m.normalized not in known and not (m.kind == "event" and set(words(m.normalized)) <= source_words)
    }
    if invented:
        raise SummarizerError(f"summary names {len(invented)} drug/event term(s) not in the source")
    reasons = _flips(summary, said, facts)
    if reasons:
        raise SummarizerError("summary " + "; ".join(f"{why} ({n})" for why, n in reasons.items()))


def _read_summary(summary: str) -> CaseFacts:
    """The summary read as an English document with no sender, by the rules of assess_case."""
    document = SourceDocument(
        document_id="summary",
        channel=Channel.EMAIL,
        source_key="summary",
        received_at=datetime(1970, 1, 1, tzinfo=UTC),
        units=[TextUnit(kind="body", text=summary)],
        language="en",
    )
    return assess_case(document, [])


def _flips(summary: str, said: CaseFacts, facts: CaseFacts) -> dict[str, int]:
    """Why the summary's reading contradicts the facts: each reason with how many terms."""
    held: dict[str, list[Mention]] = {}
    for m in facts.mentions:
        for term in _with_broader({m.normalized}):  # "bleeding" in the summary reads a nosebleed's
            held.setdefault(term, []).append(m)
    events = _with_broader(set(facts.events))
    with_relative = _named_with_relative(summary)
    reasons: dict[str, int] = {}

    def add(reason: str) -> None:
        reasons[reason] = reasons.get(reason, 0) + 1

    for event in said.events:
        mentions = held.get(event, [])
        if event in events or not mentions:
            continue
        if all(m.negated for m in mentions):
            add("asserts an event the source denies")
        elif event not in with_relative and all(m.negated or m.role in _NOT_NOW for m in mentions):
            add("asserts as the patient's an event the source gives a relative or the past")
    for event in denied_events(said):
        held_denied = any(m.negated for m in held.get(event, []))
        if event in events and event not in said.events and not held_denied:
            add("denies an event the source reports")
    for drug in said.suspect_drugs:
        if drug not in facts.suspect_drugs:
            add("presents as suspect a drug the source does not")
    return reasons


def _with_broader(terms: set[str]) -> set[str]:
    """The terms and the events each is a kind of (epistaxis: also bleeding)."""
    broader = lexicon().broader
    return terms | {broader[t] for t in terms if t in broader}


def _named_with_relative(summary: str) -> set[str]:
    """Terms of the summary's sentences that name a family member ("his mother", "the son")."""
    names: set[str] = set()
    relatives = english_words().relatives
    for sentence in split_sentences(summary):
        tokens = tokenize(sentence)
        if any(t.text in relatives for t in tokens):
            names.update(m.term.normalized for m in lexicon().match(tokens))
    return names
