"""Phrase mapper handler: a sentence-embedding model that maps reaction phrases to the nearest
standard terms (SageMaker Hugging Face inference toolkit + plain Python API).

Ships beside `inference.py` in `code/` and reuses its payload parsing, content negotiation and
errors; otherwise it imports only the standard library, numpy, torch and transformers.

Contract (the functions' `EndpointPhraseMapper`): request `{"inputs": ["phrase", ...]}` as
`application/json`; response, one item per input and in input order,
`[{"terms": [{"term": "alopecia", "score": 0.71}, ...]}, ...]`: the `top_k` nearest terms
(`embedder.json`, default 5), best first, `score` the cosine similarity of the phrase and the
term's closest name. Floors are the caller's (pv.intelligence.phrases).

An embedder folder (`pv-model build-embedder`) is a bare encoder (`BertModel`, e.g. the packaged
all-MiniLM-L6-v2) with `embedder.json` (pooling, top_k, the term of each name) and
`term_embeddings.npy` (one unit vector per name, computed when the folder was built).
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:  # inside the pv_model package
    from . import inference as _base
except ImportError:  # SageMaker `code/` folder: the handlers are top-level modules
    import inference as _base  # type: ignore[no-redef]

EMBEDDER_FILE = "embedder.json"
EMBEDDINGS_FILE = "term_embeddings.npy"
DEFAULT_TOP_K = 5
MAX_LENGTH = 64  # a reaction phrase is short; longer inputs are cut

input_fn = _base.input_fn
output_fn = _base.output_fn


@dataclass
class EmbedderBundle:
    """A loaded phrase mapper: tokenizer, encoder, the names' unit vectors and their terms."""

    tokenizer: Any
    model: Any
    names: list[str]
    terms: list[str]  # the term of each name
    embeddings: Any  # numpy array (names x dimensions), unit rows
    top_k: int
    version: str
    model_dir: str
    backend: str = "torch"
    tokenizer_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


def is_embedder(model_dir: str | os.PathLike[str]) -> bool:
    """True for a folder that `pv-model build-embedder` wrote (it has `embedder.json`)."""
    return (Path(model_dir) / EMBEDDER_FILE).is_file()


def embed(tokenizer: Any, model: Any, texts: list[str], batch_size: int = 64, lock: Any = None) -> Any:
    """Unit-length mean-pooled embeddings of the texts (numpy, texts x dimensions), as
    sentence-transformers computes them for all-MiniLM-L6-v2."""
    import numpy as np
    import torch

    rows = []
    for start in range(0, len(texts), batch_size):
        chunk = texts[start : start + batch_size]
        if lock is not None:
            with lock:
                batch = tokenizer(
                    chunk, truncation=True, max_length=MAX_LENGTH, padding=True, return_tensors="pt"
                )
        else:
            batch = tokenizer(
                chunk, truncation=True, max_length=MAX_LENGTH, padding=True, return_tensors="pt"
            )
        with torch.inference_mode():
            hidden = model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
        rows.append(pooled.float().numpy())
    return np.concatenate(rows) if rows else np.zeros((0, 0), dtype="float32")


def load_model(model_dir: str | os.PathLike[str], backend: str = "torch") -> EmbedderBundle:
    """Load an embedder folder: the encoder, its tokenizer and the precomputed term vectors."""
    import numpy as np
    from transformers import AutoModel, AutoTokenizer

    if backend != "torch":
        raise ValueError(f"the phrase mapper serves with the torch backend only, not {backend!r}")
    root = Path(model_dir)
    if not is_embedder(root):
        raise ValueError(f"{root} has no {EMBEDDER_FILE}: build one with `pv-model build-embedder`")
    settings = json.loads((root / EMBEDDER_FILE).read_text(encoding="utf-8"))
    embeddings = np.load(root / EMBEDDINGS_FILE)
    names = [str(n) for n in settings["names"]]
    if embeddings.shape[0] != len(names):
        raise ValueError(f"{EMBEDDINGS_FILE} has {embeddings.shape[0]} rows for {len(names)} names")
    return EmbedderBundle(
        tokenizer=AutoTokenizer.from_pretrained(root),
        model=AutoModel.from_pretrained(root).eval(),
        names=names,
        terms=[str(t) for t in settings["terms"]],
        embeddings=embeddings,
        top_k=int(settings.get("top_k") or DEFAULT_TOP_K),
        version=_base.model_version(root),
        model_dir=str(root),
    )


def nearest_terms(bundle: EmbedderBundle, phrases: list[str]) -> list[list[dict[str, Any]]]:
    """For each phrase, the `top_k` terms whose closest name is most similar, best first."""
    if not phrases:
        return []
    try:
        vectors = embed(bundle.tokenizer, bundle.model, phrases, lock=bundle.tokenizer_lock)
    except Exception as error:  # the backend's own errors become a 500 with a clear message
        raise _base.ModelError(f"model failed on a batch of {len(phrases)}: {error}") from error
    similarity = vectors @ bundle.embeddings.T
    answers = []
    for row in similarity:
        best: dict[str, float] = {}
        for index in row.argsort()[::-1]:
            term = bundle.terms[index]
            if term not in best:
                best[term] = round(float(row[index]), 4)
                if len(best) == bundle.top_k:
                    break
        answers.append([{"term": term, "score": score} for term, score in best.items()])
    return answers


# --- Hugging Face inference toolkit (SageMaker) -------------------------------------------------


def model_fn(model_dir: str, context: Any = None) -> EmbedderBundle:
    """Load the phrase mapper once per worker."""
    return load_model(model_dir)


def predict_fn(data: list[str], model: EmbedderBundle, context: Any = None) -> list[dict[str, Any]]:
    """The nearest terms of every input (not only the first), in order."""
    return [{"terms": terms} for terms in nearest_terms(model, data)]
