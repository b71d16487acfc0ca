"""Case summarizer handler: SageMaker Hugging Face inference toolkit + plain Python API.

Ships beside `inference.py` in `code/` and reuses its payload parsing, content negotiation and
errors; otherwise it imports only the standard library, torch and transformers.

Contract (the functions' `EndpointSummarizer`): request `{"inputs": ["note", ...]}` as
`application/json`; response, one item per input and in input order, `[{"summary_text": "..."},
...]`, as the Hugging Face summarization pipeline answers. Each input is truncated to the model's
input length (`training.json` "max_source_length", else the position limit); generation is bounded
by `training.json` "generation" (`max_new_tokens`, `num_beams`), or 64 new tokens and 4 beams.

A summarizer folder is a sequence-to-sequence model: its config names `EncoderDecoderModel` (a
BERT2BERT warm-started from an encoder, what `pv-model train-summarizer` makes by default) or a
`*ForConditionalGeneration` architecture (T5, BART, Pegasus...). What it writes is checked by the
caller: the pipeline keeps a summary only if it names no drug or event absent from the document.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:  # inside the pv_model package
    from . import inference as _base
except ImportError:  # SageMaker `code/` folder: the handlers are top-level modules
    import inference as _base  # type: ignore[no-redef]

DEFAULT_MAX_NEW_TOKENS = 64
DEFAULT_NUM_BEAMS = 4

# The toolkit's request decoding and response encoding are the classifier's.
input_fn = _base.input_fn
output_fn = _base.output_fn


@dataclass
class SummarizerBundle:
    """A loaded summarizer: tokenizer, torch module and the generation settings."""

    tokenizer: Any
    model: Any
    max_length: int  # input tokens kept (the rest of a long note is cut)
    max_new_tokens: int
    num_beams: int
    prefix: str  # put before every input ("summarize: " for T5)
    version: str
    model_dir: str
    backend: str = "torch"
    # Fast tokenizers are not safe to call from several threads at once.
    tokenizer_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


def is_summarizer(model_dir: str | os.PathLike[str]) -> bool:
    """True when the folder's config names `EncoderDecoderModel` or a `*ForConditionalGeneration`."""
    return any(
        name == "EncoderDecoderModel" or name.endswith("ForConditionalGeneration")
        for name in _base.architectures(model_dir)
    )


def input_limit(config: Any, tokenizer: Any) -> int:
    """The most input tokens the model takes: its encoder's position limit and the tokenizer's."""
    encoder = getattr(config, "encoder", None) or config
    limits = [int(tokenizer.model_max_length)] if tokenizer.model_max_length < 1_000_000 else []
    limits += [int(v) for v in (getattr(encoder, "max_position_embeddings", None),) if v]
    return min(limits) if limits else 512


def load_model(model_dir: str | os.PathLike[str], backend: str = "torch") -> SummarizerBundle:
    """Load a trained summarizer folder (HF seq2seq weights + tokenizer + config [+ training.json])."""
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    if backend != "torch":
        raise ValueError(f"the summarizer serves with the torch backend only, not {backend!r}")
    root = Path(model_dir)
    if not is_summarizer(root):
        raise ValueError(
            f"{root} is not a sequence-to-sequence summarizer (see its config.json architectures)"
        )
    tokenizer = AutoTokenizer.from_pretrained(root)
    # No dtype argument, as in `inference.load_model`: the weights are saved in float32.
    model = AutoModelForSeq2SeqLM.from_pretrained(root).eval()
    # `max_new_tokens` bounds the output; a saved `max_length` beside it would only draw a warning.
    model.generation_config.max_length = None
    training = _base._read_json(root / "training.json")
    generation = training.get("generation") or {}
    limit = input_limit(model.config, tokenizer)
    return SummarizerBundle(
        tokenizer=tokenizer,
        model=model,
        max_length=min(int(training.get("max_source_length") or limit), limit),
        max_new_tokens=int(generation.get("max_new_tokens") or DEFAULT_MAX_NEW_TOKENS),
        num_beams=int(generation.get("num_beams") or DEFAULT_NUM_BEAMS),
        prefix=str(training.get("source_prefix") or ""),
        version=_base.model_version(root),
        model_dir=str(root),
    )


def summarize(bundle: SummarizerBundle, texts: list[str], batch_size: int = 8) -> list[str]:
    """One summary per text, in input order.

    Texts (with the model's prefix) are truncated at `max_length` tokens, sorted by length and
    summarized in batches of `batch_size`, each output at most `max_new_tokens` tokens long.
    """
    import torch

    if not texts:
        return []
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    summaries = [""] * len(texts)
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        with bundle.tokenizer_lock:
            batch = bundle.tokenizer(
                [bundle.prefix + texts[i] for i in chunk],
                truncation=True,
                max_length=bundle.max_length,
                padding=True,
                return_tensors="pt",
                return_token_type_ids=False,
            )
        try:
            with torch.inference_mode():
                generated = bundle.model.generate(
                    **batch, max_new_tokens=bundle.max_new_tokens, num_beams=bundle.num_beams, do_sample=False
                )
        except Exception as error:  # the backend's own errors become a 500 with a clear message
            raise _base.ModelError(f"model failed on a batch of {len(chunk)}: {error}") from error
        with bundle.tokenizer_lock:
            decoded = bundle.tokenizer.batch_decode(generated, skip_special_tokens=True)
        for index, summary in zip(chunk, decoded, strict=True):
            summaries[index] = " ".join(summary.split())
    return summaries


# --- Hugging Face inference toolkit (SageMaker) -------------------------------------------------


def model_fn(model_dir: str, context: Any = None) -> SummarizerBundle:
    """Load the summarizer once per worker."""
    return load_model(model_dir)


def predict_fn(data: list[str], model: SummarizerBundle, context: Any = None) -> list[dict[str, str]]:
    """Summarize every input (not only the first), in order."""
    return [{"summary_text": summary} for summary in summarize(model, data)]
