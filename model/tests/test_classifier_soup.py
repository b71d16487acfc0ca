"""Checkpoint weight averaging (greedy soup) and the best-F1 score it is judged by."""

from __future__ import annotations

import pytest
import torch
from pv_model.evaluation import best_f1, binary_metrics, choose_threshold
from pv_model.training import averaged, greedy_soup


def state(value: float) -> dict[str, torch.Tensor]:
    return {"w": torch.full((2, 2), value), "position_ids": torch.arange(3)}


def test_averaged_weights_are_the_elementwise_mean_and_integer_buffers_are_kept() -> None:
    mean = averaged([state(1.0), state(2.0), state(6.0)])
    assert torch.equal(mean["w"], torch.full((2, 2), 3.0))
    assert torch.equal(mean["position_ids"], torch.arange(3))


def test_greedy_soup_starts_from_the_best_checkpoint_and_keeps_only_what_helps() -> None:
    # Validation F1 of each checkpoint at 0.5, its step, its weights; the judge prefers w near 2.
    snapshots = [(0.70, 100, state(0.0)), (0.80, 200, state(3.0)), (0.78, 300, state(1.0))]

    def judge(weights: dict[str, torch.Tensor]) -> float:
        return -abs(float(weights["w"][0, 0]) - 2.0)

    weights, steps, trials = greedy_soup(snapshots, judge)
    # best (w=3) first; + w=1 averages to 2 (better, kept); + w=0 averages to 4/3 (worse, dropped)
    assert steps == [200, 300]
    assert float(weights["w"][0, 0]) == pytest.approx(2.0)
    assert [t["kept"] for t in trials] == [True, True, False]
    assert trials[0]["steps"] == [200]


def test_greedy_soup_of_one_checkpoint_is_that_checkpoint() -> None:
    weights, steps, _ = greedy_soup([(0.5, 7, state(4.0))], lambda w: 0.0)
    assert steps == [7] and torch.equal(weights["w"], torch.full((2, 2), 4.0))


def test_best_f1_is_the_f1_at_the_chosen_threshold() -> None:
    labels = [0, 0, 1, 0, 1, 1, 0, 1]
    scores = [0.1, 0.4, 0.35, 0.8, 0.7, 0.9, 0.2, 0.6]
    chosen = choose_threshold(labels, scores)
    assert best_f1(labels, scores) == pytest.approx(binary_metrics(labels, scores, chosen)["f1"])
    assert best_f1([0, 0], [0.3, 0.9]) == 0.0
