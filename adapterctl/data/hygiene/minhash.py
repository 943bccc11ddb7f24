"""MinHash signatures of many texts at once, in datasketch's scheme, for its LSH index.

datasketch's `MinHash.update_batch` hashes one text at a time in Python; at 100k rows that
per-row overhead is most of the check's time. Here the word 3-gram hashes of all texts are
computed as one numpy array and reduced to signatures in chunks with datasketch's own
permutations and pre-mix ("affine32"), so `signature_of(...)` equals what
`MinHash(num_perm, seed, hashfunc=int).update_batch(shingle_hashes(text))` gives (a test
holds it to that). Words hash with crc32: deterministic across processes, unlike hash().
"""

from __future__ import annotations

import re
import zlib

import numpy as np

NUM_PERM = 128
SEED = 1
_WORD = re.compile(r"\w+")
_M1, _M2 = np.uint32(0x9E3779B1), np.uint32(0x85EBCA77)  # odd multipliers combining 3 word hashes
_CHUNK = 1 << 16  # shingles per reduction step: 64k x 128 x 4 bytes = 32 MiB


class Hasher:
    """Word hashes, each distinct word hashed once per run (a corpus repeats its words endlessly)."""

    def __init__(self) -> None:
        self.memo: dict[str, int] = {}

    def words(self, text: str) -> list[int]:
        words = _WORD.findall(text)
        memo = self.memo
        for w in set(words).difference(memo):
            memo[w] = zlib.crc32(w.encode())
        return list(map(memo.__getitem__, words))


def shingle_hashes(word_hashes: np.ndarray) -> np.ndarray:
    """uint32 hashes of the word 3-grams (of the whole text, when it has fewer than 3 words)."""
    w: np.ndarray = word_hashes.astype(np.uint32)
    if len(w) >= 3:
        return w[:-2] * _M1 + w[1:-1] * _M2 + w[2:]
    if len(w) == 2:
        return w[:1] * _M1 + w[1:] * _M2  # arrays, not scalars: the multiply wraps silently
    return w if len(w) else np.zeros(1, dtype=np.uint32)


def permutations():
    from datasketch import MinHash

    return MinHash(num_perm=NUM_PERM, seed=SEED).permutations


def _all_shingles(texts: list[str], hasher: Hasher) -> tuple[np.ndarray, np.ndarray]:
    """Every text's shingle hashes in one array, text after text, and how many each text has."""
    per_text = [hasher.words(t) for t in texts]
    lengths = np.fromiter(map(len, per_text), dtype=np.int64, count=len(per_text))
    words = np.fromiter((h for ws in per_text for h in ws), dtype=np.uint32, count=int(lengths.sum()))
    owner: np.ndarray = np.repeat(np.arange(len(texts)), lengths)
    # 3-grams over the concatenation, keeping those whose three words belong to one text.
    keep = owner[:-2] == owner[2:] if len(words) >= 3 else np.zeros(0, dtype=bool)
    grams = (words[:-2] * _M1 + words[1:-1] * _M2 + words[2:])[keep] if len(words) >= 3 else words[:0]
    owners = owner[:-2][keep] if len(words) >= 3 else owner[:0]
    short = np.flatnonzero(lengths < 3)  # 0-2 words: one shingle of the whole text
    if len(short):
        grams = np.concatenate([grams, *(shingle_hashes(np.asarray(per_text[i], dtype=np.uint32)) for i in short)])
        owners = np.concatenate([owners, short])
        order = np.argsort(owners, kind="stable")
        grams, owners = grams[order], owners[order]
    return grams, np.bincount(owners, minlength=len(texts))


def signatures(texts: list[str], hasher: Hasher) -> np.ndarray:
    """(len(texts), NUM_PERM) uint32 MinHash signatures of the texts' word 3-grams."""
    from datasketch.minhash import _fmix

    if not texts:
        return np.zeros((0, NUM_PERM), dtype=np.uint32)
    flat, counts = _all_shingles(texts, hasher)
    flat = _fmix(flat, 32)
    a, b = permutations()
    out: np.ndarray = np.empty((len(texts), NUM_PERM), dtype=np.uint32)
    ends = np.cumsum(counts)
    starts = ends - counts
    row = 0
    while row < len(texts):
        last = int(np.searchsorted(ends, starts[row] + _CHUNK, side="right"))
        last = max(last, row + 1)  # a row longer than a chunk is reduced alone
        lo, hi = starts[row], ends[last - 1]
        permuted = flat[lo:hi, None] * a + b  # uint32: the multiply wraps, as datasketch's does
        out[row:last] = np.minimum.reduceat(permuted, starts[row:last] - lo, axis=0)
        row = last
    return out


def as_minhash(signature: np.ndarray, perms):
    """A datasketch MinHash holding `signature`, for MinHashLSH."""
    from datasketch import MinHash

    return MinHash(hashvalues=signature, permutations=perms, scheme="affine32", seed=SEED)
