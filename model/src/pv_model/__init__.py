"""Adverse-event classifier: data, training, evaluation, packaging, serving, SageMaker."""

LABELS = ("Not_AE", "Adverse_Event")
LABEL2ID = {label: i for i, label in enumerate(LABELS)}
ID2LABEL = dict(enumerate(LABELS))
DEFAULT_MODEL_DIR = ".artifacts/models/ae-classifier"
