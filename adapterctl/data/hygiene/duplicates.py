"""duplicate, near_duplicate (within a file), leakage and near_leakage (training rows that
reappear in a held-out file).

Exact means equal after folding case and whitespace. Near means an estimated Jaccard
similarity of word 3-grams at or above the threshold, found with MinHash signatures and an
LSH index (datasketch), so the cost grows with the rows rather than with pairs of rows.
Each near-duplicate group keeps its first row as representative and only representatives
enter the index: a thousand copies of one template cost a thousand lookups, not a million
comparisons. Leakage is a held-out row whose prompt is a training prompt; it inflates every
eval metric, so it is an error by default.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from adapterctl.data.hygiene import minhash
from adapterctl.data.hygiene.problems import Problem, excerpt
from adapterctl.data.hygiene.texts import Texts

# (false positive, false negative) weights for datasketch's choice of bands: candidates are
# verified against their signatures anyway, so a false positive costs one comparison while a
# false negative is a missed duplicate. Equal weights miss about half the pairs right at the
# threshold; these miss about 7% (12 bands of 10 rows at 0.85).
LSH_WEIGHTS = (0.05, 0.95)


@dataclass
class NearIndex:
    """MinHash signatures of a file's rows and an LSH index of its group representatives."""

    threshold: float
    hasher: minhash.Hasher
    signatures: np.ndarray  # (rows, NUM_PERM), row i of the Texts → signature i
    lsh: Any
    perms: Any
    members: dict[int, list[int]] = field(default_factory=dict)  # representative → its near-duplicates

    def similar(self, signature: np.ndarray, candidates) -> list[tuple[int, float]]:
        """(row, estimated Jaccard) of the candidates at or above the threshold, best first."""
        if not candidates:
            return []
        rows = np.fromiter(candidates, dtype=np.int64)
        scores = np.count_nonzero(self.signatures[rows] == signature, axis=1) / minhash.NUM_PERM
        keep = scores >= self.threshold
        return sorted(zip(rows[keep].tolist(), scores[keep].tolist(), strict=True), key=lambda rs: (-rs[1], rs[0]))


def within(texts: Texts, threshold: float, near: bool) -> tuple[list[Problem], NearIndex | None]:
    """Exact and near-duplicate rows; each later copy is reported, naming the first."""
    problems = []
    first_of: dict[str, int] = {}
    unique = []
    for i in range(len(texts)):
        key = texts.full(i)
        if key in first_of:
            j = first_of[key]
            problems.append(
                Problem(
                    "duplicate",
                    texts.label,
                    texts.lines[i],
                    f"same as line {texts.lines[j]}: {excerpt(texts.prompts[i])}",
                    [texts.lines[j]],
                )
            )
        else:
            first_of[key] = i
            unique.append(i)
    if not near:
        return problems, None
    index, found = _near_index(texts, unique, threshold)
    for i, rep, score in found:
        problems.append(
            Problem(
                "near_duplicate",
                texts.label,
                texts.lines[i],
                f"near-duplicate of line {texts.lines[rep]} (similarity {score:.2f}): {excerpt(texts.prompts[i])}",
                [texts.lines[rep]],
            )
        )
    return problems, index


def _near_index(texts: Texts, order: list[int], threshold: float) -> tuple[NearIndex, list[tuple[int, int, float]]]:
    from datasketch import MinHashLSH

    hasher = minhash.Hasher()
    perms = minhash.permutations()
    index = NearIndex(
        threshold,
        hasher,
        minhash.signatures([texts.full(i) for i in range(len(texts))], hasher),
        MinHashLSH(threshold=threshold, num_perm=minhash.NUM_PERM, weights=LSH_WEIGHTS),
        perms,
    )
    found = []
    sig = minhash.as_minhash(index.signatures[0], perms) if order else None
    for i in order:
        assert sig is not None  # made above whenever there is an order
        sig.hashvalues = index.signatures[i]  # one MinHash, refilled: constructing 100k costs seconds
        match = index.similar(index.signatures[i], index.lsh.query(sig))
        if match:
            rep, score = match[0]
            index.members[rep].append(i)
            found.append((i, rep, score))
        else:
            index.members[i] = []
            index.lsh.insert(i, sig, check_duplication=False)
    return index, found


def leakage(train: Texts, heldout: Texts, index: NearIndex | None) -> list[Problem]:
    """Training rows whose prompt is a held-out prompt (leakage), or that are near-duplicates
    of a held-out row (near_leakage); reported on the training line, naming the held-out lines."""
    by_prompt: dict[str, list[int]] = defaultdict(list)
    for i, prompt in enumerate(train.norm_prompts):
        by_prompt[prompt].append(i)
    exact: dict[int, list[int]] = defaultdict(list)  # train index → held-out lines
    for j, prompt in enumerate(heldout.norm_prompts):
        for i in by_prompt.get(prompt, ()):
            exact[i].append(heldout.lines[j])
    problems = [
        Problem(
            "leakage",
            train.label,
            train.lines[i],
            f"the same prompt is in {heldout.label} ({_lines(lines)}): {excerpt(train.prompts[i])}",
            lines,
        )
        for i, lines in sorted(exact.items())
    ]
    if index is None:
        return problems
    near: dict[int, list[tuple[int, float]]] = defaultdict(list)
    signatures = minhash.signatures([heldout.full(j) for j in range(len(heldout))], index.hasher)
    probe = minhash.as_minhash(signatures[0], index.perms) if len(signatures) else None
    for j, signature in enumerate(signatures):
        assert probe is not None  # made above whenever there are signatures
        probe.hashvalues = signature
        reps = index.lsh.query(probe)
        group = [m for rep in reps for m in (rep, *index.members[rep])]
        for i, score in index.similar(signature, group):
            if heldout.lines[j] not in exact.get(i, ()):
                near[i].append((heldout.lines[j], score))
    for i, hits in sorted(near.items()):
        lines = [line for line, _ in hits]
        problems.append(
            Problem(
                "near_leakage",
                train.label,
                train.lines[i],
                f"near-duplicate of {heldout.label} {_lines(lines)} (similarity {max(s for _, s in hits):.2f}): "
                f"{excerpt(train.prompts[i])}",
                lines,
            )
        )
    return problems


def _lines(lines: list[int]) -> str:
    shown = ", ".join(map(str, lines[:5])) + (f" and {len(lines) - 5} more" if len(lines) > 5 else "")
    return f"line{'s' if len(lines) > 1 else ''} {shown}"
