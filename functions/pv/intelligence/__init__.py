"""Case intelligence: what a flagged document says about drugs, reactions, seriousness and the patient.

`assess_case` is the seam CaseFunction calls; `adverse_event_sentences` is screening's second
detector beside the classifier. Backends are small protocols: an `Extractor` (lexicon by
default, or the lexicon plus what the extractor endpoint adds), a `Summarizer` (extractive
template by default, or the summarizer endpoint, checked against the facts) and a `Redactor`
(rules by default, or Comprehend Medical DetectPHI). Stdlib and pydantic only; vocabularies load
lazily.
"""

from .assess import adverse_event_sentences, assess_case
from .extraction import (
    CombinedExtractor,
    EndpointExtractor,
    Entity,
    Extractor,
    ExtractorError,
    LexiconExtractor,
)
from .grounding import EndpointSummarizer
from .redaction import ComprehendMedicalRedactor, Redactor, RuleRedactor
from .summary import ExtractiveSummarizer, Summarizer, SummarizerError

__all__ = [
    "CombinedExtractor",
    "ComprehendMedicalRedactor",
    "EndpointExtractor",
    "EndpointSummarizer",
    "Entity",
    "ExtractiveSummarizer",
    "Extractor",
    "ExtractorError",
    "LexiconExtractor",
    "Redactor",
    "RuleRedactor",
    "Summarizer",
    "SummarizerError",
    "adverse_event_sentences",
    "assess_case",
]
