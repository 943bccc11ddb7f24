"""Judging versions: metrics registry, batched generation, gates, paired-bootstrap intervals.

Results are committed beside the cards (results.py), so `diff` and `report` read them from
git without weights or a GPU.
"""
