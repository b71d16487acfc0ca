"""Drug / adverse-event extraction (token classification): span alignment, training, evaluation."""

from pv_model.serving.code.ner_inference import ENTITY_TYPES, NER_LABELS

NER_LABEL2ID = {label: i for i, label in enumerate(NER_LABELS)}
NER_ID2LABEL = dict(enumerate(NER_LABELS))
DEFAULT_NER_DIR = ".artifacts/models/ae-extractor"

__all__ = ["DEFAULT_NER_DIR", "ENTITY_TYPES", "NER_ID2LABEL", "NER_LABEL2ID", "NER_LABELS"]
