"""`model.tar.gz` in the layout the SageMaker Hugging Face inference toolkit expects.

Archive root: the weights, config, tokenizer, `training.json` (threshold, max_length) and, for a
summarizer, `generation_config.json` of the model folder, `serving.json` (the model version, since
SageMaker unpacks into /opt/ml/model and the folder name is lost), optionally the ONNX files, and
`code/inference.py` (with the extractor's and the summarizer's handlers beside it, to which it
hands those models) + `code/requirements.txt`, which the toolkit uses instead of its default
handler.
"""

from __future__ import annotations

import fnmatch
import io
import json
import tarfile
from importlib import resources
from pathlib import Path

from pv_model.serving.code.inference import ONNX_FILES, model_version

MODEL_PATTERNS = (
    "config.json",
    "*.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "added_tokens.json",
    "training.json",
    "generation_config.json",  # a summarizer's decoder start, end and padding tokens
    "embedder.json",  # the phrase mapper's names and terms
    "term_embeddings.npy",  # and their vectors
)
CODE_FILES = (
    "inference.py",
    "ner_inference.py",
    "summarizer_inference.py",
    "embedder_inference.py",
    "requirements.txt",
)


def package_files(model_dir: Path, include_onnx: bool) -> list[Path]:
    """The model folder's files that go into the archive (checkpoints, logs and plots stay out)."""
    patterns = MODEL_PATTERNS + (tuple(ONNX_FILES.values()) if include_onnx else ())
    files = sorted(
        path
        for path in model_dir.iterdir()
        if path.is_file() and any(fnmatch.fnmatch(path.name, p) for p in patterns)
    )
    if not any(path.suffix == ".safetensors" for path in files):
        raise FileNotFoundError(f"{model_dir} holds no safetensors weights: is it a trained model folder?")
    if include_onnx and not (model_dir / ONNX_FILES["onnx"]).is_file():
        raise FileNotFoundError(
            f"{model_dir / ONNX_FILES['onnx']} not found: run `pv-model export-onnx` first"
        )
    return files


def build_package(model_dir: str | Path, out: str | Path, include_onnx: bool = False) -> Path:
    """Write `out` (a gzipped tar, files at the archive root, reproducible member order and times)."""
    root = Path(model_dir)
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    code = resources.files("pv_model.serving.code")
    serving = json.dumps({"version": model_version(root)}, indent=2).encode()
    with tarfile.open(target, "w:gz") as archive:
        for path in package_files(root, include_onnx):
            archive.add(path, arcname=path.name, filter=_normalise)
        _add_bytes(archive, "serving.json", serving)
        for name in CODE_FILES:
            _add_bytes(archive, f"code/{name}", code.joinpath(name).read_bytes())
    return target


def _normalise(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o644
    return info


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = _normalise(tarfile.TarInfo(name))
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))
