"""Judge the document, not the sentence: whether a document that names a drug and a reaction that
occurred still reports no adverse event (../shared/LABELLING.md, "Not an AE").

The sentence rules (pv.intelligence.context) read each mention in its clause; what settles a
document often stands elsewhere in it: a follow-up that takes the report back, a doctor who puts the
symptom down to the disease, a symptom older than the first dose, a drug not taken yet, an advert or
a newsletter listing effects. The cues are data (resources/judgement_cues.tsv), chosen on the dev
part of the lay corpus (`pv evaluate-lay`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import Literal

from .context import LANGUAGES

Verdict = Literal[
    "retraction", "other_cause", "disease", "pre_existing", "not_taken", "third_party", "efficacy"
]
# Rows of these kinds are word lists, not verdicts (scope "words"): words that stand for the drug
# when its name is not repeated ("not the tablets", "nothing to do with it"), negations before an
# event-scope cue, and the reporter or their family speaking ("I", "my son").
_WORD_KINDS = ("medicine", "negation", "first_person")


@cache
def _cues(language: str = "en") -> tuple[tuple[str, str, str], ...]:
    """(kind, scope, pattern) rows of judgement_cues.tsv for English and `language`."""
    text = resources.files("pv.resources").joinpath("judgement_cues.tsv").read_text(encoding="utf-8")
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip() and not line.startswith("#"):
            kind, scope, lang, pattern = line.split("\t", 3)
            if lang not in LANGUAGES or (scope == "words") != (kind in _WORD_KINDS):
                raise ValueError(f"judgement_cues.tsv line {number}: unknown language or word kind")
            if lang in ("en", language):
                rows.append((kind, scope, pattern))
    return tuple(rows)


@cache
def _words(language: str, kind: str) -> str:
    """The alternation of a word kind's rows (`_WORD_KINDS`) for English and `language`."""
    return "|".join(f"(?:{p})" for k, scope, p in _cues(language) if k == kind and scope == "words")


@cache
def _word_pattern(language: str, kind: str) -> re.Pattern[str]:
    return re.compile(_words(language, kind))


@cache
def _compiled(pattern: str, drugs: str) -> re.Pattern[str]:
    return re.compile(pattern.replace("{drug}", f"(?:{drugs})"))


def judge(
    folded_sentences: Sequence[str],
    reaction_sentences: set[int],
    drug_names: Sequence[str],
    language: str = "en",
) -> Verdict | None:
    """Why the document reports no adverse event although a reaction occurred with a drug named, or
    None when nothing in it says so.

    `folded_sentences`: the document's sentences, folded; `reaction_sentences`: the indices of those
    that name a reaction that occurred; `drug_names`: the drugs as written, folded. Advert, news and
    newsletter cues count only when no sentence naming a reaction speaks of the reporter or their
    family ("I", "my son"): a patient may quote a study and still report a rash. `language`: the
    document's ("es", "fr", "de", "pt"), whose cues are read with the English ones.
    """
    names = sorted({re.escape(n) for n in drug_names if n.strip()}, key=len, reverse=True)
    drugs = "|".join([*names, _words(language, "medicine")])
    negation = _word_pattern(language, "negation")
    document = " ".join(folded_sentences)
    event_sentences = [folded_sentences[i] for i in sorted(reaction_sentences)]
    events = " ".join(event_sentences)
    found: set[str] = set()
    for kind, scope, pattern in _cues(language):
        if kind in found or scope == "words":
            continue
        compiled = _compiled(pattern, drugs)
        if scope == "event":
            # "I never had headaches before I started it" says the opposite
            hit = any(
                m and not negation.search(sentence, 0, m.start())
                for sentence in event_sentences
                for m in [compiled.search(sentence)]
            )
        else:
            hit = compiled.search(document) is not None
        if hit:
            found.add(kind)
    if "long_standing" in found and "unchanged" in found:
        found.add("pre_existing")
    if ("praise" in found and "no_trouble" in found) or (
        "improved" in found and ("praise" in found or "no_trouble" in found)
    ):
        found.add("efficacy")
    if "third_party" in found and _word_pattern(language, "first_person").search(events):
        found.discard("third_party")
    order: tuple[Verdict, ...] = (
        "retraction",
        "other_cause",
        "disease",
        "pre_existing",
        "not_taken",
        "third_party",
        "efficacy",
    )
    return next((kind for kind in order if kind in found), None)
