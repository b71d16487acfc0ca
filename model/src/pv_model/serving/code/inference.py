"""Adverse-event classifier handler: SageMaker Hugging Face inference toolkit + plain Python API.

Self-contained on purpose (it ships as `code/inference.py` inside `model.tar.gz`): it imports only
the standard library, numpy, torch and transformers, and onnxruntime when the ONNX backend is used.

Contract (ARCHITECTURE.md): request `{"inputs": ["sentence", ...]}` as `application/json`;
response, one item per input and in input order, `[{"label": "Adverse_Event" | "Not_AE",
"score": s}, ...]`. `label` is "Adverse_Event" when P(Adverse_Event) (the softmax probability of
that label's index) >= the threshold saved in the model folder's `training.json` (chosen on
validation), or 0.5 without it. As in Hugging Face pipelines, `score` is the confidence of the
returned label: P(Adverse_Event) for "Adverse_Event", 1 - P(Adverse_Event) for "Not_AE".
`predict_scores` gives P(Adverse_Event) directly.

Backends: "torch" (the safetensors weights), "onnx" (`model.onnx`) and "onnx-int8"
(`model.int8.onnx`, dynamically quantized); SageMaker picks one with the `PV_BACKEND` variable.
`PV_ORT_THREADS` caps ONNX Runtime's threads (default: one per core).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

POSITIVE_LABEL = "Adverse_Event"
NEGATIVE_LABEL = "Not_AE"
BACKENDS = ("torch", "onnx", "onnx-int8")
ONNX_FILES = {"onnx": "model.onnx", "onnx-int8": "model.int8.onnx"}
DEFAULT_THRESHOLD = 0.5
JSON_CONTENT_TYPE = "application/json"
# Sentences per model call, after sorting by length. An ONNX model scores best in small calls:
# on a 2-core AVX2 machine, requests of 32 sentences went 3-6x faster scored 4 at a time than 32
# at a time (less padding, and its int8 kernels stay in cache); see model/EXPERIMENTS.md.
MODEL_BATCH = {"torch": 32, "onnx": 4, "onnx-int8": 4}


class InferenceError(Exception):
    """An error with the HTTP status the endpoint answers with."""

    status = 500

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class PayloadError(InferenceError):
    """A malformed request (HTTP 400): the caller must fix the payload."""

    status = 400


class ModelError(InferenceError):
    """The model failed on a well-formed request (HTTP 500)."""

    status = 500


@dataclass
class ModelBundle:
    """A loaded classifier: tokenizer, backend session/module and the serving settings."""

    backend: str
    tokenizer: Any
    model: Any
    max_length: int
    threshold: float
    positive_index: int
    version: str
    model_dir: str
    input_names: tuple[str, ...] = ()
    batch_size: int = 32  # sentences per model call (MODEL_BATCH of the backend)
    # Fast tokenizers are not safe to call from several threads at once.
    tokenizer_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.is_file() else {}


def architectures(model_dir: str | os.PathLike[str]) -> list[str]:
    """The architecture names of a model folder's `config.json` (none without one): what the
    handlers tell their models apart by."""
    return [str(name) for name in _read_json(Path(model_dir) / "config.json").get("architectures") or []]


def model_version(model_dir: str | os.PathLike[str]) -> str:
    """Version string of a model folder: `serving.json` "version", else folder name + data hash.

    Without a training data hash (`training.json` "data_sha256") the weights' hash stands in.
    """
    root = Path(model_dir)
    pinned = _read_json(root / "serving.json").get("version")
    if pinned:
        return str(pinned)
    data_hash = _read_json(root / "training.json").get("data_sha256")
    if not data_hash:
        weights = root / "model.safetensors"
        data_hash = hashlib.sha256(weights.read_bytes()).hexdigest() if weights.is_file() else "unknown"
    return f"{root.resolve().name}-{str(data_hash)[:12]}"


def load_model(
    model_dir: str | os.PathLike[str], backend: str = "torch", threads: int | None = None
) -> ModelBundle:
    """Load a trained model folder (HF weights + tokenizer + config [+ training.json, model.onnx]).

    The ONNX backends read `config.json` and `tokenizer.json` themselves (`FastTokenizer`), so a
    served ONNX model loads neither transformers nor torch: a smaller process that starts sooner.
    `threads`: ONNX Runtime's intra-op threads (default `PV_ORT_THREADS`, else one per core).
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; expected one of {BACKENDS}")
    root = Path(model_dir)
    training = _read_json(root / "training.json")
    tokenizer: Any
    if backend != "torch" and (root / "tokenizer.json").is_file():
        config = _read_json(root / "config.json")
        id2label = config.get("id2label") or {}
        tokenizer = FastTokenizer(root)
        model_max_length = tokenizer.model_max_length
        max_positions = int(config.get("max_position_embeddings", 512))
    else:
        from transformers import AutoConfig, AutoTokenizer

        hf_config = AutoConfig.from_pretrained(root)
        id2label = hf_config.id2label or {}
        tokenizer = AutoTokenizer.from_pretrained(root)
        model_max_length = int(tokenizer.model_max_length)
        max_positions = int(getattr(hf_config, "max_position_embeddings", 512))
    labels = {int(i): str(label) for i, label in id2label.items()}
    positive_index = next((i for i, label in labels.items() if label == POSITIVE_LABEL), 1)
    max_length = int(training.get("max_length") or min(model_max_length, max_positions))
    if backend == "torch":
        from transformers import AutoModelForSequenceClassification

        # No dtype argument: its name differs across transformers 4.x (the SageMaker image) and 5.x;
        # the weights are saved in float32 and load as such in both.
        model: Any = AutoModelForSequenceClassification.from_pretrained(root).eval()
        input_names: tuple[str, ...] = ()
    else:
        import onnxruntime as ort

        onnx_path = root / ONNX_FILES[backend]
        if not onnx_path.is_file():
            raise FileNotFoundError(f"{onnx_path} not found: run `pv-model export-onnx --model {root}`")
        options = ort.SessionOptions()
        # 0: one per core. Several serving workers share one session with a thread each.
        options.intra_op_num_threads = (
            threads if threads is not None else int(os.environ.get("PV_ORT_THREADS") or 0)
        )
        options.inter_op_num_threads = 1
        # Idle threads sleep instead of spinning: on a shared or oversubscribed CPU spinning
        # steals the time the other threads need.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        model = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        input_names = tuple(node.name for node in model.get_inputs())
    return ModelBundle(
        backend=backend,
        tokenizer=tokenizer,
        model=model,
        max_length=max_length,
        threshold=float(training.get("threshold", DEFAULT_THRESHOLD)),
        positive_index=positive_index,
        version=model_version(root),
        model_dir=str(root),
        input_names=input_names,
        batch_size=MODEL_BATCH[backend],
    )


class FastTokenizer:
    """A folder's `tokenizer.json` through the `tokenizers` library alone, called like the
    transformers tokenizer it was saved from (`tok(texts, truncation=True, max_length=n)`)."""

    def __init__(self, model_dir: str | os.PathLike[str]) -> None:
        from tokenizers import Tokenizer

        root = Path(model_dir)
        self._tokenizer = Tokenizer.from_file(str(root / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()
        settings = _read_json(root / "tokenizer_config.json")
        pad_token = settings.get("pad_token")
        pad_token = pad_token.get("content") if isinstance(pad_token, dict) else pad_token
        self.pad_token_id = self._tokenizer.token_to_id(pad_token) if isinstance(pad_token, str) else None
        self.model_max_length = int(min(float(settings.get("model_max_length") or 512), 1e9))

    def __call__(
        self,
        texts: list[str],
        *,
        truncation: bool = True,
        max_length: int | None = None,
        padding: bool = False,
    ) -> dict[str, list[list[int]]]:
        if padding:
            raise ValueError("FastTokenizer leaves padding to the caller")
        if truncation and max_length:
            self._tokenizer.enable_truncation(max_length)
        else:
            self._tokenizer.no_truncation()
        return {"input_ids": [encoding.ids for encoding in self._tokenizer.encode_batch(texts)]}


def _pad(rows: list[list[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    width = max(len(row) for row in rows)
    ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
        mask[i, : len(row)] = 1
    return ids, mask


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def _logits(bundle: ModelBundle, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    token_types = np.zeros_like(ids)
    if bundle.backend == "torch":
        import torch

        with torch.inference_mode():
            output = bundle.model(
                input_ids=torch.from_numpy(ids),
                attention_mask=torch.from_numpy(mask),
                token_type_ids=torch.from_numpy(token_types),
            )
        return output.logits.float().numpy()
    feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": token_types}
    return np.asarray(bundle.model.run(["logits"], {k: feeds[k] for k in bundle.input_names})[0])


def predict_scores(bundle: ModelBundle, texts: list[str], batch_size: int | None = None) -> list[float]:
    """P(Adverse_Event) for each text, in input order.

    Texts are tokenized once, truncated at the model's `max_length` tokens, sorted by length and
    scored in batches of `batch_size` (default: the bundle's, little padding), then put back in
    input order.
    """
    if not texts:
        return []
    batch_size = batch_size or bundle.batch_size
    with bundle.tokenizer_lock:
        encoded = bundle.tokenizer(list(texts), truncation=True, max_length=bundle.max_length, padding=False)[
            "input_ids"
        ]
    pad_id = bundle.tokenizer.pad_token_id or 0
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    scores = np.empty(len(encoded), dtype=np.float64)
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        ids, mask = _pad([encoded[i] for i in chunk], pad_id)
        try:
            probabilities = _softmax(_logits(bundle, ids, mask).astype(np.float64))
        except Exception as error:  # the backend's own errors become a 500 with a clear message
            raise ModelError(f"model failed on a batch of {len(chunk)}: {error}") from error
        scores[chunk] = probabilities[:, bundle.positive_index]
    return [float(score) for score in scores]


def predict(bundle: ModelBundle, texts: list[str], batch_size: int | None = None) -> list[dict[str, Any]]:
    """One `{"label", "score"}` per text, in order; the label by the saved threshold.

    As in Hugging Face pipelines, `score` is the confidence of the returned label:
    P(Adverse_Event) for `Adverse_Event`, 1 - P(Adverse_Event) for `Not_AE`.
    """
    return [
        {"label": POSITIVE_LABEL, "score": p}
        if p >= bundle.threshold
        else {"label": NEGATIVE_LABEL, "score": 1.0 - p}
        for p in predict_scores(bundle, texts, batch_size=batch_size)
    ]


def parse_inputs(payload: Any) -> list[str]:
    """Validate a decoded request: `{"inputs": [str, ...]}` (a lone string counts as one input)."""
    if not isinstance(payload, dict) or "inputs" not in payload:
        raise PayloadError('request body must be a JSON object with an "inputs" list of strings')
    inputs = payload["inputs"]
    if isinstance(inputs, str):
        return [inputs]
    if not isinstance(inputs, list):
        raise PayloadError(f'"inputs" must be a list of strings, got {type(inputs).__name__}')
    bad = [i for i, item in enumerate(inputs) if not isinstance(item, str)]
    if bad:
        raise PayloadError(f'"inputs" must contain only strings; items {bad[:10]} are not strings')
    return inputs


# --- Hugging Face inference toolkit (SageMaker) -------------------------------------------------


# The other handlers shipped beside this one in `code/`, each with the test of the folders it serves.
_SIBLINGS = (
    ("embedder_inference", "is_embedder"),
    ("ner_inference", "is_extractor"),
    ("summarizer_inference", "is_summarizer"),
)
# This module, taken while it is being imported: a loader may drop it from `sys.modules` afterwards.
_THIS = sys.modules[__name__]


def _sibling(name: str) -> ModuleType:
    """A handler shipped beside this one: a module of this package, or of SageMaker's `code/`."""
    if __package__:
        return importlib.import_module(f"{__package__}.{name}")
    return importlib.import_module(name)  # SageMaker `code/` folder: the handlers are top-level modules


def handler_for(model_dir: str | os.PathLike[str]) -> ModuleType:
    """The handler of a model folder: the phrase mapper's for a folder with `embedder.json`, the
    extractor's for `*ForTokenClassification`, the summarizer's for a sequence-to-sequence model,
    else this one (the classifier's)."""
    for name, serves in _SIBLINGS:
        sibling = _sibling(name)
        if getattr(sibling, serves)(model_dir):
            return sibling
    return _THIS


def model_fn(model_dir: str, context: Any = None) -> Any:
    """Load the model once per worker; the backend comes from `PV_BACKEND` (default torch).

    The toolkit only ever calls this module, so an extraction model (`*ForTokenClassification`)
    or a summarizer (sequence-to-sequence) is handed to its own handler here: read as a
    classifier an extraction model would load without complaint (the output layer can have the
    same shape) and answer nonsense.
    """
    handler = handler_for(model_dir)
    if handler is not _THIS:
        return handler.model_fn(model_dir, context)
    return load_model(model_dir, backend=os.environ.get("PV_BACKEND", "torch"))


def input_fn(input_data: str | bytes, content_type: str | None, context: Any = None) -> list[str]:
    """Decode an `application/json` request body into the list of sentences."""
    media_type = (content_type or JSON_CONTENT_TYPE).split(";")[0].strip().lower()
    if media_type != JSON_CONTENT_TYPE:
        raise PayloadError(f"unsupported content type {content_type!r}; send {JSON_CONTENT_TYPE}", 415)
    try:
        text = input_data.decode("utf-8") if isinstance(input_data, bytes | bytearray) else input_data
        payload = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PayloadError(f"request body is not valid UTF-8 JSON: {error}") from error
    return parse_inputs(payload)


def predict_fn(data: list[str], model: Any, context: Any = None) -> list[Any]:
    """Score every input (not only the first), in order."""
    if not isinstance(model, ModelBundle):  # another handler's bundle: that handler answers
        return sys.modules[type(model).__module__].predict_fn(data, model, context)
    return predict(model, data)


def output_fn(prediction: list[dict[str, Any]], accept: str | None, context: Any = None) -> str:
    """Encode the predictions as JSON (the only response type)."""
    media_types = {part.split(";")[0].strip().lower() for part in (accept or JSON_CONTENT_TYPE).split(",")}
    if not media_types & {JSON_CONTENT_TYPE, "*/*", "application/*", ""}:
        raise PayloadError(
            f"unsupported accept type {accept!r}; this endpoint answers {JSON_CONTENT_TYPE}", 406
        )
    return json.dumps(prediction)
