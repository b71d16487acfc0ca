"""Drug / adverse-event extractor handler: SageMaker Hugging Face inference toolkit + plain Python API.

Ships beside `inference.py` in `code/` and reuses its payload parsing, content negotiation and
errors; otherwise it imports only the standard library, numpy, torch and transformers.

Contract: request `{"inputs": ["sentence", ...]}` as `application/json`; response, one list per
input and in input order, of entities `{"type": "DRUG" | "AE", "text", "start", "end", "score"}`.
`start`/`end` are character offsets in the input sentence and `text == sentence[start:end]`;
`score` is the mean, over the entity's tokens, of the probability of each token's predicted tag.

Tags are BIO (`B-DRUG, I-DRUG, B-AE, I-AE, O`) on every sub-token. A sentence's tags are the most
probable *valid* BIO sequence under the model's per-token probabilities (Viterbi: `I-X` only after
`B-X` or `I-X`), not each token's own argmax, so a long event is not cut where one inner token
leans to `O`. Decoding tags into entities is lenient: an `I-` tag without a matching entity before
it starts one, and an entity edge that falls inside a word is widened to the whole word (entities
never cut a word in two); pieces of one word tagged as different entities become one, typed by the
summed confidence of its tokens' tags.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

try:  # inside the pv_model package
    from . import inference as _base
except ImportError:  # SageMaker `code/` folder: the handlers are top-level modules
    import inference as _base  # type: ignore[no-redef]

NER_LABELS = ("O", "B-DRUG", "I-DRUG", "B-AE", "I-AE")
ENTITY_TYPES = ("DRUG", "AE")

PayloadError = _base.PayloadError
ModelError = _base.ModelError
InferenceError = _base.InferenceError
JSON_CONTENT_TYPE = _base.JSON_CONTENT_TYPE
input_fn = _base.input_fn
output_fn = _base.output_fn


@dataclass
class NerBundle:
    """A loaded extractor: tokenizer, torch module and the serving settings."""

    tokenizer: Any
    model: Any
    id2label: dict[int, str]
    max_length: int
    version: str
    model_dir: str
    backend: str = "torch"
    # Fast tokenizers are not safe to call from several threads at once.
    tokenizer_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


def is_extractor(model_dir: str | os.PathLike[str]) -> bool:
    """True when the folder's config names a `*ForTokenClassification` architecture."""
    return any(name.endswith("ForTokenClassification") for name in _base.architectures(model_dir))


def load_model(model_dir: str | os.PathLike[str], backend: str = "torch") -> NerBundle:
    """Load a trained extractor folder (HF token-classification weights + tokenizer + config)."""
    import torch
    from transformers import AutoConfig, AutoModelForTokenClassification, AutoTokenizer

    if backend != "torch":
        raise ValueError(f"the extractor serves with the torch backend only, not {backend!r}")
    root = Path(model_dir)
    config = AutoConfig.from_pretrained(root)
    id2label = {int(i): str(label) for i, label in (config.id2label or {}).items()}
    unknown = sorted(set(id2label.values()) - set(NER_LABELS))
    if unknown:
        raise ValueError(f"{root} is not a DRUG/AE extractor: unknown tags {unknown}")
    tokenizer = AutoTokenizer.from_pretrained(root)
    if not tokenizer.is_fast:
        raise ValueError(f"{root}: character offsets need a fast tokenizer")
    # Serve up to the position limit (longer than the training max_length costs nothing here).
    max_length = min(int(tokenizer.model_max_length), int(getattr(config, "max_position_embeddings", 512)))
    model = AutoModelForTokenClassification.from_pretrained(root, dtype=torch.float32).eval()
    return NerBundle(
        tokenizer=tokenizer,
        model=model,
        id2label=id2label,
        max_length=max_length,
        version=_base.model_version(root),
        model_dir=str(root),
    )


def _word_edges(text: str, start: int, end: int) -> tuple[int, int]:
    while start > 0 and text[start - 1].isalnum() and text[start].isalnum():
        start -= 1
    while end < len(text) and text[end - 1].isalnum() and text[end].isalnum():
        end += 1
    return start, end


# What may stand between two adverse-event pieces that decoding joins into one event.
EVENT_JOINS = (" ", "-")


def decode_entities(
    text: str,
    offsets: list[tuple[int, int]],
    tags: list[str],
    confidences: list[float],
) -> list[dict[str, Any]]:
    """Entities from per-token BIO tags; `offsets` are the tokenizer's (special tokens: (0, 0)).

    A token confidence is the probability of its predicted tag; an entity's score is their mean.
    """
    spans: list[list[Any]] = []  # [type, start, end, confidences]
    current: list[Any] | None = None
    for (start, end), tag, confidence in zip(offsets, tags, confidences, strict=True):
        if start == end or tag == "O":
            current = None
            continue
        prefix, kind = tag.split("-", 1)
        if current is not None and prefix == "I" and kind == current[0]:
            current[2] = end
            current[3].append(confidence)
            continue
        current = [kind, start, end, [confidence]]
        spans.append(current)
    entities: list[dict[str, Any]] = []
    for kind, start, end, scores in spans:
        start, end = _word_edges(text, start, end)
        last = entities[-1] if entities else None
        if last is not None and (start < last["end"] or (start == last["end"] and kind in last["_votes"])):
            # Pieces of one word (overlapping once widened) are one entity; its tokens vote the type.
            last["end"] = max(last["end"], end)
            last["_scores"].extend(scores)
            last["_votes"][kind] += sum(scores)
            continue
        entities.append(
            {"start": start, "end": end, "_scores": list(scores), "_votes": Counter({kind: sum(scores)})}
        )
    typed: list[dict[str, Any]] = []
    for e in entities:
        kind = e["_votes"].most_common(1)[0][0]
        last = typed[-1] if typed else None
        gap = text[last["end"] : e["start"]] if last is not None else None
        if last is not None and kind == last["type"] == "AE" and gap in EVENT_JOINS:
            # The model splits long event names ("sinoatrial" "block", "T-cell" "lymphocytopenia");
            # two events are separated by a word or punctuation, not by a bare space or hyphen.
            last["end"] = e["end"]
            last["_scores"].extend(e["_scores"])
            continue
        typed.append({"type": kind, "start": e["start"], "end": e["end"], "_scores": list(e["_scores"])})
    return [
        {
            "type": e["type"],
            "text": text[e["start"] : e["end"]],
            "start": e["start"],
            "end": e["end"],
            "score": float(np.mean(e["_scores"])),
        }
        for e in typed
    ]


def bio_path(probabilities: np.ndarray, labels: list[str]) -> list[int]:
    """Tag ids of the most probable valid BIO sequence (rows: tokens, columns: `labels`)."""

    def forbidden(previous: str | None, tag: str) -> bool:
        return tag.startswith("I-") and (previous is None or previous == "O" or previous[2:] != tag[2:])

    if len(probabilities) == 0:
        return []
    log_p = np.log(np.clip(probabilities, 1e-12, None))
    start = np.array([-np.inf if forbidden(None, tag) else 0.0 for tag in labels])
    moves = np.array([[-np.inf if forbidden(a, b) else 0.0 for b in labels] for a in labels])
    score = log_p[0] + start
    back = np.zeros(log_p.shape, dtype=int)
    for t in range(1, len(log_p)):
        candidates = score[:, None] + moves + log_p[t][None, :]
        back[t] = candidates.argmax(axis=0)
        score = candidates.max(axis=0)
    path = [int(score.argmax())]
    for t in range(len(log_p) - 1, 0, -1):
        path.append(int(back[t][path[-1]]))
    return path[::-1]


def tag_entities(
    text: str, offsets: list[tuple[int, int]], probabilities: np.ndarray, labels: list[str]
) -> list[dict[str, Any]]:
    """Entities of one sentence from its tokens' tag probabilities (special tokens: offsets (0, 0))."""
    real = [i for i, (start, end) in enumerate(offsets) if start != end]
    path = bio_path(probabilities[real], labels)
    return decode_entities(
        text,
        [offsets[i] for i in real],
        [labels[tag] for tag in path],
        [float(probabilities[i, tag]) for i, tag in zip(real, path, strict=True)],
    )


def _probabilities(bundle: NerBundle, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    import torch

    with torch.inference_mode():
        output = bundle.model(
            input_ids=torch.from_numpy(ids),
            attention_mask=torch.from_numpy(mask),
            token_type_ids=torch.from_numpy(np.zeros_like(ids)),
        )
    return _base._softmax(output.logits.float().numpy().astype(np.float64))


def predict_entities(bundle: NerBundle, texts: list[str], batch_size: int = 32) -> list[list[dict[str, Any]]]:
    """One entity list per text, in input order.

    Texts are tokenized once (truncated at the model's position limit: entities past it are not
    found), sorted by length and tagged in batches of `batch_size`.
    """
    if not texts:
        return []
    with bundle.tokenizer_lock:
        encoded = bundle.tokenizer(
            list(texts), truncation=True, max_length=bundle.max_length, return_offsets_mapping=True
        )
    rows, offsets = encoded["input_ids"], encoded["offset_mapping"]
    pad_id = bundle.tokenizer.pad_token_id or 0
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]))
    results: list[list[dict[str, Any]]] = [[] for _ in texts]
    for begin in range(0, len(order), batch_size):
        chunk = order[begin : begin + batch_size]
        ids, mask = _base._pad([rows[i] for i in chunk], pad_id)
        try:
            probabilities = _probabilities(bundle, ids, mask)
        except Exception as error:  # the backend's own errors become a 500 with a clear message
            raise ModelError(f"model failed on a batch of {len(chunk)}: {error}") from error
        labels = [bundle.id2label[i] for i in range(len(bundle.id2label))]
        for row, index in enumerate(chunk):
            n = len(rows[index])
            results[index] = tag_entities(
                texts[index], [tuple(pair) for pair in offsets[index]], probabilities[row, :n], labels
            )
    return results


# --- Hugging Face inference toolkit (SageMaker) -------------------------------------------------


def model_fn(model_dir: str, context: Any = None) -> NerBundle:
    """Load the extractor once per worker."""
    return load_model(model_dir)


def predict_fn(data: list[str], model: NerBundle, context: Any = None) -> list[list[dict[str, Any]]]:
    """Tag every input (not only the first), in order."""
    return predict_entities(model, data)
