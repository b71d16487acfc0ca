"""The comparison baseline: TF-IDF features + logistic regression, trained on the same split."""

from __future__ import annotations

from pv_model.data import Example


class TfidfBaseline:
    """Word 1-2 gram TF-IDF + class-balanced logistic regression; `score` gives P(Adverse_Event)."""

    def __init__(self, seed: int = 42, c: float = 4.0) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        self.pipeline = make_pipeline(
            TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, lowercase=True),
            LogisticRegression(C=c, class_weight="balanced", max_iter=2000, random_state=seed),
        )

    def fit(self, examples: list[Example]) -> TfidfBaseline:
        """Fit on labelled examples; returns self."""
        self.pipeline.fit([e.text for e in examples], [e.target for e in examples])
        return self

    def score(self, examples: list[Example]) -> list[float]:
        """Probability of Adverse_Event for each example, in order."""
        return self.pipeline.predict_proba([e.text for e in examples])[:, 1].tolist()
