"""contradiction: the same prompt (case and whitespace folded) answered differently.

Two answers to one question pull the gradient two ways; the guide asks to resolve them.
Some tasks have many right answers, so it is a warning by default, and `data fix` leaves the
choice to a person.
"""

from __future__ import annotations

from collections import defaultdict

from adapterctl.data.hygiene.problems import Problem, excerpt
from adapterctl.data.hygiene.texts import Texts


def check(texts: Texts) -> list[Problem]:
    groups: dict[str, list[int]] = defaultdict(list)
    for i, prompt in enumerate(texts.norm_prompts):
        if prompt:
            groups[prompt].append(i)
    problems = []
    for members in groups.values():
        if len(members) < 2:
            continue
        first = members[0]
        differing = [i for i in members if texts.norm_answers[i] != texts.norm_answers[first]]
        if not differing:
            continue  # the same answer each time: that is `duplicate`'s business
        for i in differing:
            others = [texts.lines[j] for j in members if texts.norm_answers[j] != texts.norm_answers[i]]
            problems.append(
                Problem(
                    "contradiction",
                    texts.label,
                    texts.lines[i],
                    f"same prompt as line {texts.lines[first]} with a different answer: {excerpt(texts.answers[i])} "
                    f"vs {excerpt(texts.answers[first])}",
                    others,
                )
            )
    return problems
