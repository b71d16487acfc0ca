"""A tiny summarizer folder in the trained-model layout, for tests.

A BERT2BERT warm-started (the path `pv-model train-summarizer` takes by default) from a 2-layer,
32-wide BERT with the packaged MiniLM tokenizer, with the serving settings in `training.json`.
Its summaries mean nothing, unless it is told to say one word: then it says that word at every
step, which lets a test know exactly what the endpoint answers.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from pv_model.serving.tiny import save_tiny_bert


def build_tiny_encoder(out_dir: str | Path, *, seed: int = 0) -> Path:
    """Save a 2-layer, 32-wide `BertModel` with the MiniLM tokenizer (a base to warm-start from)."""
    return save_tiny_bert(out_dir, "BertModel", {0: "LABEL_0", 1: "LABEL_1"}, {"tiny": True}, seed=seed)


def build_tiny_summarizer(
    out_dir: str | Path,
    *,
    seed: int = 0,
    says: str | None = None,
    max_new_tokens: int = 6,
    num_beams: int = 2,
) -> Path:
    """Save a tiny BERT2BERT summarizer to `out_dir`; with `says` (one word of the vocabulary) it
    writes that word `max_new_tokens` times, whatever the input."""
    import torch
    from transformers import AutoTokenizer

    from pv_model.summarizer.training import warm_start

    out = Path(out_dir)
    with tempfile.TemporaryDirectory() as base:
        tokenizer = AutoTokenizer.from_pretrained(build_tiny_encoder(base, seed=seed))
        torch.manual_seed(seed)
        model = warm_start(base, tokenizer)
    if says is not None:
        [token] = tokenizer(says, add_special_tokens=False)["input_ids"]  # one token, or this fails
        with torch.no_grad():
            model.decoder.get_output_embeddings().bias[token] += 1e4
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    training = {
        "task": "summarization",
        "max_source_length": 128,
        "source_prefix": "",
        "generation": {"max_new_tokens": max_new_tokens, "num_beams": num_beams},
        "data_sha256": "0" * 64,
        "tiny": True,
    }
    (out / "training.json").write_text(json.dumps(training, indent=2))
    return out
