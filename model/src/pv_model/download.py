"""Fetch ADE-Corpus-V2 from its public distribution into a local folder."""

from __future__ import annotations

import logging
import shutil
import tempfile
import urllib.request
from pathlib import Path

from pv_model.data import CORPUS_FILES, load_corpus

log = logging.getLogger(__name__)

# The copy the Hugging Face `ade_corpus_v2` dataset script downloads from.
DEFAULT_BASE_URL = "https://raw.githubusercontent.com/trunghlt/AdverseDrugReaction/master/ADE-Corpus-V2/"
FILES = (*CORPUS_FILES, "DRUG-DOSE.rel")


def download_corpus(output: str | Path, base_url: str = DEFAULT_BASE_URL, timeout: float = 60.0) -> Path:
    """Download the corpus files from `base_url` (http(s):// or file://) into `output`.

    Files land in a temporary folder first and are parsed with `load_corpus` before they
    replace anything in `output`, so a broken or partial download never leaves a bad corpus.
    """
    target = Path(output)
    base = base_url if base_url.endswith("/") else base_url + "/"
    with tempfile.TemporaryDirectory(prefix="ade-download-") as tmp:
        staging = Path(tmp)
        for name in FILES:
            url = base + name
            log.info("downloading %s", url)
            with urllib.request.urlopen(url, timeout=timeout) as response, (staging / name).open("wb") as out:
                shutil.copyfileobj(response, out)
        examples = load_corpus(staging)
        target.mkdir(parents=True, exist_ok=True)
        for name in FILES:
            shutil.move(str(staging / name), target / name)
    log.info("corpus ready in %s: %d sentences", target, len(examples))
    return target
