"""Serving the classifier: the SageMaker handler, a local endpoint server, ONNX export, packaging."""

from pv_model.serving.code.inference import (
    BACKENDS,
    ModelBundle,
    ModelError,
    PayloadError,
    load_model,
    predict,
    predict_scores,
)

__all__ = ["BACKENDS", "ModelBundle", "ModelError", "PayloadError", "load_model", "predict", "predict_scores"]
