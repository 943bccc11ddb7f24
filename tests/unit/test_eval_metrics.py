"""The metrics registry against rouge_score and sacrebleu computed directly, bootstrap
intervals and gate judgement on known inputs."""

from __future__ import annotations

import math

import pytest

from adapterctl.evaluation import bootstrap, gates, metrics
from adapterctl.versions import card as card_model

PREDICTIONS = [
    "Restart the router and update the firmware.",
    "Hold the reset button for ten seconds until the light blinks.",
    "The warranty covers two years from purchase.",
    "Sorry to hear that, please open a claim.",
    "",
    "Charge it fully, then sign in on the welcome screen.",
]
REFERENCES = [
    "Restart it and update the firmware; if the error returns, see the status page.",
    "Hold the reset button for 10 seconds until the light blinks.",
    "The Vista webcam has a 2-year warranty.",
    "Sorry to hear that. Open a claim with your serial number.",
    "Happy to help.",
    "Charge it fully, then sign in on the welcome screen.",
]


@pytest.mark.slow  # loads evaluate (about 3 s)
def test_text_metrics_equal_rouge_score_and_sacrebleu_directly() -> None:
    import sacrebleu
    from rouge_score import rouge_scorer

    rows = metrics.score_generations(PREDICTIONS, REFERENCES, None, metrics.NAMES)
    got = metrics.corpus(metrics.NAMES, rows)
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=False)
    direct = [scorer.score(r, p) for p, r in zip(PREDICTIONS, REFERENCES, strict=True)]
    for ours, theirs in (("rouge1", "rouge1"), ("rouge2", "rouge2"), ("rouge_l", "rougeL")):
        expected = sum(d[theirs].fmeasure for d in direct) / len(direct)
        assert got[ours] == pytest.approx(expected, abs=1e-6)
        assert [r[ours] for r in rows] == pytest.approx([d[theirs].fmeasure for d in direct], abs=1e-6)
    assert got["bleu"] == pytest.approx(sacrebleu.corpus_bleu(PREDICTIONS, [REFERENCES]).score, abs=1e-6)
    assert got["chrf"] == pytest.approx(sacrebleu.corpus_chrf(PREDICTIONS, [REFERENCES]).score, abs=1e-6)
    assert got["exact_match"] == pytest.approx(1 / 6, abs=1e-6)
    assert 0 < got["rouge2"] < got["rouge1"] < 1
    # Any subset aggregates to sacrebleu's corpus score of that subset: what bootstrap relies on.
    subset = [0, 2, 5]
    assert metrics.aggregate("bleu", [rows[i] for i in subset]) == pytest.approx(
        sacrebleu.corpus_bleu([PREDICTIONS[i] for i in subset], [[REFERENCES[i] for i in subset]]).score, abs=1e-6
    )


def test_label_metrics_and_loss_aggregate() -> None:
    rows = [
        {"label": ["refund", "refund"]},
        {"label": ["refund", "shipping"]},
        {"label": ["shipping", "shipping"]},
        {"label": ["other", "refund"]},
    ]
    assert metrics.aggregate("accuracy", rows) == 0.5
    # refund: tp1 fp1 fn1 → 0.5; shipping: tp1 fp1 fn0 → 2/3; other: 0
    assert metrics.aggregate("macro_f1", rows) == pytest.approx((0.5 + 2 / 3 + 0) / 3)
    assert metrics.predicted_label("Refund.\nBecause the item...") == "refund"
    loss_rows = [{"loss": [6.0, 3]}, {"loss": [2.0, 1]}]
    assert metrics.aggregate("eval_loss", loss_rows) == pytest.approx(2.0)
    assert metrics.aggregate("perplexity", loss_rows) == pytest.approx(math.exp(2.0))
    assert metrics.aggregate("rouge_l", loss_rows) is None


def _rows(scores: list[float]) -> list[dict]:
    return [{"hash": f"h{i}", "rouge_l": s, "loss": [2.0 - s, 1]} for i, s in enumerate(scores)]


def test_bootstrap_separates_a_real_improvement_from_noise() -> None:
    import random

    rng = random.Random(0)
    a = [rng.random() * 0.5 for _ in range(100)]
    better = _rows([x + 0.1 for x in a])
    noisy = _rows([min(1.0, max(0.0, x + rng.choice([-0.05, 0.05]))) for x in a])
    d = bootstrap.deltas(["rouge_l", "eval_loss"], _rows(a), better)
    assert d["rouge_l"].delta == pytest.approx(0.1) and d["rouge_l"].low > 0.09 and d["rouge_l"].significant
    assert d["rouge_l"].verdict == "better" and d["eval_loss"].verdict == "better"  # loss went down
    n = bootstrap.deltas(["rouge_l"], _rows(a), noisy)["rouge_l"]
    assert n.low < 0 < n.high and n.verdict == "noise"
    same = bootstrap.deltas(["rouge_l"], _rows(a), _rows(a))["rouge_l"]
    assert (same.delta, same.low, same.high, same.significant) == (0, 0, 0, False)
    # Rows pair by content hash: a reordered B gives the same interval.
    assert bootstrap.deltas(["rouge_l"], _rows(a), better[::-1])["rouge_l"].delta == pytest.approx(0.1)


def test_gates_absolute_relative_and_missing_reference() -> None:
    rules = gates.rules({"rouge_l": ">= prod - 0.01", "eval_loss": "<= base", "bleu": "> 10"})
    assert [(r.op, r.ref, r.offset) for r in rules] == [(">=", "prod", -0.01), ("<=", "base", 0.0), (">", None, 10.0)]
    refs = {
        "prod": gates.Reference("prod = support@abc", {"rouge_l": 0.30}),
        "base": gates.Reference("base", {"eval_loss": 5.0}),
    }
    report = gates.check(rules, {"rouge_l": 0.295, "eval_loss": 5.5, "bleu": 12.0}, refs)
    assert [r.passed for r in report.results] == [True, False, True]
    assert report.results[0].threshold == pytest.approx(0.29)
    assert not report.passed and report.failed == ["eval_loss <= base (got 5.5)"]
    missing = gates.check(gates.rules({"chrf": ">= 1"}), {}, {})
    assert not missing.passed and "not computed" in missing.results[0].note
    never = card_model.from_dict({"name": "support", "id": "0" * 64})
    assert gates.needs_eval(never, {"rouge_l": ">= 0.2"}) == "it has never been evaluated"
    card = card_model.from_dict(
        {"name": "support", "id": "0" * 64, "gates": {"passed": True, "rules": {"rouge_l": ">= 0.2"}}}
    )
    assert gates.needs_eval(card, {"rouge_l": ">= 0.2"}) is None
    assert gates.needs_eval(card, {"rouge_l": ">= 0.3"}) == "its gates changed since it was evaluated"
    assert gates.needs_eval(never, {}) is None
