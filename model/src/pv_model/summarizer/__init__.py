"""Abstractive case summaries: a fine-tuned sequence-to-sequence model, its training and scoring."""

DEFAULT_SUMMARIZER_DIR = ".artifacts/models/case-summarizer"

__all__ = ["DEFAULT_SUMMARIZER_DIR"]
