"""The rules inside the data checks: MinHash signatures as datasketch computes them, PII
patterns (and what must not match), debris detection and cleaning."""

from __future__ import annotations

import numpy as np
import pytest

from adapterctl.data.hygiene import debris, minhash, pii


def test_bulk_signatures_equal_datasketchs_own_minhash() -> None:
    from datasketch import MinHash

    texts = ["the quick brown fox jumps over the lazy dog", "two words", "one", "", "x y " * 40000]
    hasher = minhash.Hasher()
    signatures = minhash.signatures(texts, hasher)
    for text, signature in zip(texts, signatures, strict=True):
        reference = MinHash(num_perm=minhash.NUM_PERM, seed=minhash.SEED, hashfunc=int)
        shingles = minhash.shingle_hashes(np.array(hasher.words(text), dtype=np.uint32))
        reference.update_batch([int(h) for h in shingles])
        assert np.array_equal(reference.hashvalues, signature)
    assert np.array_equal(minhash.signatures(texts[:1], minhash.Hasher())[0], signatures[0]), "deterministic"


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("write to jane.doe@gmail.com today", ["e-mail address"]),
        ("write to support@example.com or x@test", []),  # reserved names reach nobody
        ("call +44 20 7946 0958", ["phone number"]),
        ("call (415) 555-0132 or 415-555-0133", ["phone number", "phone number"]),
        ("card 4111 1111 1111 1111", ["card-like number"]),
        ("card 4111 1111 1111 1112", []),  # fails the Luhn check
        ("on 2026-11-28 12:00:01, order #16556, error E518, Python 3.10.12, 192.168.1.1, serial 1234567890", []),
    ],
)
def test_pii_patterns(text: str, kinds: list[str]) -> None:
    assert [kind for kind, _ in pii.find(text)] == kinds


def test_luhn() -> None:
    assert pii.luhn_valid("79927398713") and not pii.luhn_valid("79927398710")


@pytest.mark.parametrize(
    ("text", "kind", "cleaned"),
    [
        ("<div class='x'>Hello</div><br/>there", "HTML markup", "Hello\nthere"),
        ("Tom &amp; Jerry &#39;s", "HTML entity", "Tom & Jerry 's"),
        ("2026-03-01 12:00:01 ERROR crashed\nThe answer.", "logging noise", "The answer."),
        ("[INFO] started\nok", "logging noise", "ok"),
        ('Traceback (most recent call last):\n  File "a.py", line 3, in f\nok', "logging noise", "ok"),
        ("The caf\u00c3\u00a9 is open", "mojibake", "The café is open"),
        ("bell\x07 and zero\u200bwidth", "control character", "bell and zerowidth"),
    ],
)
def test_debris_is_found_and_cleaned(text: str, kind: str, cleaned: str) -> None:
    assert kind in [k for k, _ in debris.find(text)]
    assert debris.clean(text) == cleaned
    assert list(debris.find(cleaned)) == []


@pytest.mark.parametrize(
    "text",
    [
        "List<String> in Java",
        "AT&T; and R&D",
        "naïve café, 日本語, emoji 😀",
        "Errors are logged at INFO level.",
        "Use <name> as a placeholder",
    ],
)
def test_clean_text_is_not_debris(text: str) -> None:
    assert list(debris.find(text)) == [] and debris.clean(text) == text
