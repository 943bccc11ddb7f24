"""Judging versions: metrics registry, batched generation, gates, paired-bootstrap intervals,
and human-eval sheets (sheets.py).

Results are committed beside the cards (results.py), so `diff` and `report` read them from
git without weights or a GPU.
"""
