"""ROUGE-L (Lin, 2004): the longest common subsequence of words, as precision, recall and F1.

As `rouge_score`'s `rougeL` (what the `evaluate` package reports, without its stemmer): text is
lowercased and split into runs of letters and digits, everything else is a separator; F1 is the
harmonic mean of LCS / prediction words and LCS / reference words. Unlike `rouge_score`, letters
are any script's, not only a to z. A corpus score is the mean of the per-pair F1s.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

_WORD = re.compile(r"[^\W_]+")


class RougeL(NamedTuple):
    precision: float
    recall: float
    f1: float


def words(text: str) -> list[str]:
    """Lowercased runs of letters and digits."""
    return _WORD.findall(text.lower())


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence (one row of the table at a time)."""
    if len(a) < len(b):
        a, b = b, a
    row = [0] * (len(b) + 1)
    for x in a:
        diagonal = 0
        for j, y in enumerate(b, start=1):
            above = row[j]
            row[j] = diagonal + 1 if x == y else max(row[j], row[j - 1])
            diagonal = above
    return row[-1]


def rouge_l(prediction: str, reference: str) -> RougeL:
    """ROUGE-L of one prediction against one reference (0 when either has no word)."""
    predicted, expected = words(prediction), words(reference)
    common = lcs_length(predicted, expected)
    if common == 0:
        return RougeL(0.0, 0.0, 0.0)
    precision, recall = common / len(predicted), common / len(expected)
    return RougeL(precision, recall, 2 * precision * recall / (precision + recall))


def mean_rouge_l(predictions: Sequence[str], references: Sequence[str]) -> float:
    """Mean ROUGE-L F1 over aligned pairs (0 for no pairs)."""
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} references")
    if not predictions:
        return 0.0
    return sum(rouge_l(p, r).f1 for p, r in zip(predictions, references, strict=True)) / len(predictions)
