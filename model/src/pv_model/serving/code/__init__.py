"""Files shipped as `code/` inside model.tar.gz (the SageMaker Hugging Face inference handler)."""
