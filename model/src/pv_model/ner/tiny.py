"""A tiny, randomly initialised extractor folder in the trained-model layout, for tests.

Real tokenizer (the packaged MiniLM vocabulary), real layout (safetensors + tokenizer + config
with the BIO tags + `training.json`); its entities mean nothing.
"""

from __future__ import annotations

from pathlib import Path

from pv_model.ner import NER_ID2LABEL
from pv_model.serving.tiny import save_tiny_bert


def build_tiny_extractor(out_dir: str | Path, *, seed: int = 0, protocol: str = "pmid") -> Path:
    """Save a 2-layer, 32-wide BERT token classifier with the MiniLM tokenizer to `out_dir`."""
    training = {
        "task": "token-classification",
        "max_length": 128,
        "data_sha256": "0" * 64,
        "split": {"protocol": protocol, "seed": 42},
        "tiny": True,
    }
    return save_tiny_bert(out_dir, "BertForTokenClassification", NER_ID2LABEL, training, seed=seed)
