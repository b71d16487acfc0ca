"""PNG figures for evaluation reports (matplotlib, headless Agg backend)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path


def _pyplot():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_pr_curves(
    curves: Mapping[str, tuple[Sequence[int], Sequence[float]]], path: str | Path, title: str = ""
) -> Path:
    """Precision-recall curves, one per system name -> (labels, scores), with PR-AUC in the legend."""
    from sklearn.metrics import average_precision_score, precision_recall_curve

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4.5), dpi=100)
    for name, (labels, scores) in curves.items():
        precision, recall, _ = precision_recall_curve(labels, scores)
        ax.plot(recall, precision, label=f"{name} (PR-AUC {average_precision_score(labels, scores):.3f})")
    ax.set(xlabel="recall (Adverse_Event)", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02), title=title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def save_confusion_matrix(confusion: dict[str, int], path: str | Path, title: str = "") -> Path:
    """A 2x2 confusion matrix (rows: true, columns: predicted) from tp/fp/fn/tn counts."""
    plt = _pyplot()
    cells = [[confusion["tn"], confusion["fp"]], [confusion["fn"], confusion["tp"]]]
    fig, ax = plt.subplots(figsize=(4.5, 4), dpi=100)
    ax.imshow(cells, cmap="Blues")
    for row in range(2):
        for col in range(2):
            ax.text(col, row, str(cells[row][col]), ha="center", va="center", fontsize=13)
    ax.set_xticks([0, 1], labels=["Not_AE", "Adverse_Event"])
    ax.set_yticks([0, 1], labels=["Not_AE", "Adverse_Event"])
    ax.set(xlabel="predicted", ylabel="true", title=title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)
