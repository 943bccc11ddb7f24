"""ROUGE-1/2/L F-measure per row, for `evaluate.load(<this file>)`.

Shipped inside adapterctl because `evaluate.load("rouge")` fetches its script from the hub.
Unlike the hub module it returns every row's scores (bootstrap intervals need them) and
splits on whitespace after rouge_score's own normalisation; no nltk sentence splitter.
"""

import datasets
import evaluate
from rouge_score import rouge_scorer

_DESCRIPTION = "ROUGE-1, ROUGE-2 and ROUGE-L F-measure of each prediction against its reference (rouge_score)."
_KWARGS = """
predictions: list of generated texts.
references: list of reference texts.
use_stemmer: apply the Porter stemmer (default False).
Returns: {"rouge1": [...], "rouge2": [...], "rougeL": [...]}, one F-measure per row.
"""
TYPES = ("rouge1", "rouge2", "rougeL")


class RougeRows(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="Lin, C.-Y. (2004). ROUGE: A package for automatic evaluation of summaries.",
            inputs_description=_KWARGS,
            features=datasets.Features(
                {"predictions": datasets.Value("string"), "references": datasets.Value("string")}
            ),
        )

    def _compute(self, predictions, references, use_stemmer=False):
        scorer = rouge_scorer.RougeScorer(list(TYPES), use_stemmer=use_stemmer)
        out: dict[str, list[float]] = {t: [] for t in TYPES}
        for prediction, reference in zip(predictions, references, strict=True):
            scores = scorer.score(reference, prediction)
            for t in TYPES:
                out[t].append(scores[t].fmeasure)
        return out
