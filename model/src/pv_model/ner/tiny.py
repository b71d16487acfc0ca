"""A tiny, randomly initialised extractor folder in the trained-model layout, for tests.

Real tokenizer (the packaged MiniLM vocabulary), real layout (safetensors + tokenizer + config
with the BIO tags + `training.json`); its entities mean nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

from pv_model.ner import NER_ID2LABEL, NER_LABEL2ID
from pv_model.serving.tiny import packaged_minilm_dir


def build_tiny_extractor(out_dir: str | Path, *, seed: int = 0, protocol: str = "pmid") -> Path:
    """Save a 2-layer, 32-wide BERT token classifier with the MiniLM tokenizer to `out_dir`."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForTokenClassification

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = AutoTokenizer.from_pretrained(packaged_minilm_dir())
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        initializer_range=0.5,  # spread the random tags so tests see entities of both types
        id2label=dict(NER_ID2LABEL),
        label2id=dict(NER_LABEL2ID),
    )
    torch.manual_seed(seed)
    BertForTokenClassification(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    training = {
        "task": "token-classification",
        "max_length": 128,
        "data_sha256": "0" * 64,
        "split": {"protocol": protocol, "seed": 42},
        "tiny": True,
    }
    (out / "training.json").write_text(json.dumps(training, indent=2))
    return out
