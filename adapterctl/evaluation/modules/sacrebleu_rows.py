"""Corpus BLEU or chrF (sacrebleu) with each row's sufficient statistics, for
`evaluate.load(<this file>, config_name="bleu" | "chrf")`.

The corpus score is sacrebleu's own; summing any subset of the per-row statistics and
scoring the sum gives that subset's corpus score, which is what paired bootstrap needs.
"""

import datasets
import evaluate
from sacrebleu.metrics import BLEU, CHRF

_DESCRIPTION = "sacrebleu corpus BLEU or chrF with per-row sufficient statistics."
_KWARGS = """
predictions: list of generated texts.
references: list of reference texts (one reference per row).
Returns: {"score": corpus score (0-100), "stats": one list of integer statistics per row}.
"""


class SacrebleuRows(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="Post, M. (2018). A call for clarity in reporting BLEU scores.",
            inputs_description=_KWARGS,
            features=datasets.Features(
                {"predictions": datasets.Value("string"), "references": datasets.Value("string")}
            ),
        )

    def _compute(self, predictions, references):
        metric = CHRF() if self.config_name == "chrf" else BLEU()
        stats = metric._extract_corpus_statistics(list(predictions), [list(references)])
        stats = [[int(round(x)) for x in row] for row in stats]
        totals = [sum(column) for column in zip(*stats, strict=True)] if stats else []
        score = metric._compute_score_from_stats(totals).score if stats else 0.0
        return {"score": float(score), "stats": stats}
