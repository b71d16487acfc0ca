"""ROUGE-L (longest common subsequence of words) on pairs worked out by hand."""

from __future__ import annotations

import pytest
from pv_model.summarizer.rouge import lcs_length, mean_rouge_l, rouge_l, words


def test_words_are_lowercased_runs_of_letters_and_digits() -> None:
    assert words("Rash, after 2 doses of Co-Amoxiclav!") == [
        "rash",
        "after",
        "2",
        "doses",
        "of",
        "co",
        "amoxiclav",
    ]
    assert words("vertiges après l'ibuprofène") == ["vertiges", "après", "l", "ibuprofène"]
    assert words("  ... ") == []


@pytest.mark.parametrize(
    ("a", "b", "length"),
    [
        ("a b c d e", "a c e", 3),
        ("a b c b d a b", "b d c a b a", 4),  # the textbook pair (CLRS): BCBA
        ("a b", "c d", 0),
        ("", "a", 0),
    ],
)
def test_lcs_length(a: str, b: str, length: int) -> None:
    assert lcs_length(a.split(), b.split()) == length
    assert lcs_length(b.split(), a.split()) == length


def test_rouge_l_of_known_pairs() -> None:
    # LCS "the cat was under the bed" = 6 words; 6/7 of the prediction, 6/6 of the reference.
    score = rouge_l("The cat was found under the bed.", "the cat was under the bed")
    assert score.precision == pytest.approx(6 / 7)
    assert score.recall == pytest.approx(1.0)
    assert score.f1 == pytest.approx(2 * (6 / 7) / (6 / 7 + 1))  # 12/13

    # Order matters: the LCS of "rash after amoxicillin" and "amoxicillin after rash" is one word.
    assert rouge_l("rash after amoxicillin", "amoxicillin after rash").f1 == pytest.approx(1 / 3)
    assert rouge_l("Patient reports a rash.", "patient reports a rash").f1 == 1.0
    assert tuple(rouge_l("", "patient reports a rash")) == (0.0, 0.0, 0.0)
    assert tuple(rouge_l("headache", "rash")) == (0.0, 0.0, 0.0)


def test_mean_rouge_l_averages_the_pairs_f1() -> None:
    assert mean_rouge_l(["a b", "c"], ["a b", "d"]) == pytest.approx(0.5)
    assert mean_rouge_l([], []) == 0.0
    with pytest.raises(ValueError, match="2 predictions for 1 references"):
        mean_rouge_l(["a", "b"], ["a"])
