"""style (warnings only): answers whose length or register is far from the rest.

A dataset that mixes formal prose with chat teaches the model to oscillate (the guide's
"style collapse"). Two robust signals, each explainable in one line:
- length: the answer's word count, on a log scale, more than `style_outlier` robust
  z-scores (median and MAD) from the median;
- register: a casual, shouting or emoji marker that few answers (< 5%) carry.
Below 20 rows there is no "rest" to compare with, so the check says nothing.
"""

from __future__ import annotations

import math
import re
import statistics

from adapterctl.data.hygiene.problems import Problem, excerpt
from adapterctl.data.hygiene.texts import Texts

MIN_ROWS = 20
RARE = 0.05  # a marker this few answers carry is out of register for the dataset
_CASUAL = frozenset(
    {
        "lol",
        "lmao",
        "omg",
        "gonna",
        "wanna",
        "gotta",
        "kinda",
        "dunno",
        "btw",
        "tbh",
        "imo",
        "idk",
        "thx",
        "pls",
        "plz",
        "ya",
        "yep",
        "nope",
        "dude",
        "cya",
    }
)
_LOWER_WORD = re.compile(r"[a-z]+")
_CAPS = re.compile(r"[A-Z]{3}")
# Each marker: a cheap test that most answers fail, then the pattern that names what was found.
MARKERS = {
    "casual words": (
        lambda a: not _CASUAL.isdisjoint(_LOWER_WORD.findall(a.lower())),
        re.compile(r"\b(?:" + "|".join(sorted(_CASUAL)) + r")\b", re.IGNORECASE),
    ),
    "emoji or emoticons": (
        lambda a: not a.isascii() or ":" in a or ";" in a,
        re.compile("[\U0001f300-\U0001faff\u2600-\u27bf]|(?<!\\w)[:;]-?[)(DPp](?!\\w)"),
    ),
    "shouting": (
        lambda a: "!!" in a or "??" in a or _CAPS.search(a) is not None,
        re.compile(r"!{2,}|\?{2,}|\b[A-Z]{3,}(?:\s+[A-Z]{3,}){3,}\b"),
    ),
}


def check(texts: Texts, outlier: float) -> list[Problem]:
    n = len(texts)
    if n < MIN_ROWS:
        return []
    problems = _length_outliers(texts, outlier)
    for name, (maybe, pattern) in MARKERS.items():
        hits = [(i, m) for i, a in enumerate(texts.answers) if maybe(a) and (m := pattern.search(a))]
        if hits and len(hits) < RARE * n:
            share = 100 * (1 - len(hits) / n)
            for i, m in hits:
                problems.append(
                    Problem(
                        "style",
                        texts.label,
                        texts.lines[i],
                        f"{name} ({excerpt(m.group(0), 20)}) where {share:.0f}% of answers have none",
                    )
                )
    return problems


def _length_outliers(texts: Texts, outlier: float) -> list[Problem]:
    words = [len(a.split()) for a in texts.answers]
    logs = [math.log1p(w) for w in words]
    median = statistics.median(logs)
    mad = statistics.median(abs(x - median) for x in logs)
    if mad == 0:
        return []
    typical = round(math.expm1(median))
    problems = []
    for i, x in enumerate(logs):
        z = 0.6745 * (x - median) / mad
        if abs(z) > outlier:
            how = "longer" if z > 0 else "shorter"
            problems.append(
                Problem(
                    "style",
                    texts.label,
                    texts.lines[i],
                    f"answer far {how} than the rest: {words[i]} words (median {typical}): "
                    f"{excerpt(texts.answers[i], 40)}",
                )
            )
    return problems
