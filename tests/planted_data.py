"""A small project whose data has a few planted problems of every kind, and where each is.

`build(root, base)` writes adapterctl.toml, data/train.jsonl and evals/eval.jsonl and returns
{check: {line, ...}}: the 1-based file lines `data check` must report, per check.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

_PROSE = (
    "alpha amber anchor apple arch atlas axis badge basin beacon birch blade bloom breeze brick bridge brook cabin "
    "camel canal candle canyon carbon cedar chalk chess cider cliff clock cloud comet coral cotton crane crystal "
    "daisy delta desert dune eagle ember engine falcon fern fiber flame forest fossil garden garnet glacier granite "
    "harbor hazel hollow island ivory jasper jungle kernel lagoon lantern lemon lily linen lotus magnet maple marble "
    "meadow mirror nectar needle oasis ocean olive onyx orbit orchid pebble pepper pine planet plaza prism quartz "
    "raven reef ridge river saddle saffron sapphire shadow shell sierra silver spruce summit thistle thunder timber "
    "topaz tulip tundra valley velvet violet walnut willow window winter zephyr"
)
WORDS = _PROSE.split()


def _words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def _row(rng: random.Random, tag: str | None = "qa", answer_words: int | None = None) -> dict:
    row = {
        "instruction": "Answer the question.",
        "input": f"What links {_words(rng, 4)}?",
        "output": _words(rng, answer_words or rng.randint(9, 15)).capitalize() + ".",
    }
    if tag:
        row["tag"] = tag
    return row


def build(root: Path, base: Path | str, *, max_length: int = 320) -> dict[str, set[int]]:
    rng = random.Random(7)
    root.mkdir(parents=True, exist_ok=True)
    (root / "adapterctl.toml").write_text(
        f'[base]\nmodel = "{base}"\n\n[defaults.train]\nmax_length = {max_length}\n\n'
        '[adapters.planted]\ndata = "data/train.jsonl"\neval_data = "evals/eval.jsonl"\n'
    )
    evals = [_row(rng, tag=None) for _ in range(6)]
    # The near-leakage target: a long prompt, so that one changed word keeps the row near.
    evals[2]["input"] = "What links " + _words(rng, 40) + "?"

    lines: list[bytes] = []
    expected: dict[str, set[int]] = {}

    def add(row: dict | bytes | str, *checks: str) -> int:
        if isinstance(row, dict):
            row = json.dumps(row, ensure_ascii=False)
        lines.append(row if isinstance(row, bytes) else row.encode("utf-8"))
        for check in checks:
            expected.setdefault(check, set()).add(len(lines))
        return len(lines)

    clean = [_row(rng, tag=rng.choice(["qa", "explain"])) for _ in range(30)]
    long_row = _row(rng)
    long_row["input"] = "What links " + _words(rng, 40) + "?"
    clean[4] = long_row
    for row in clean:
        add(row)  # lines 1-30
    dup = dict(clean[2], input=clean[2]["input"].lower(), output=clean[2]["output"] + "  ")
    add(dup, "duplicate")
    near = dict(long_row, input=long_row["input"].replace("What links", "What joins"))
    add(near, "near_duplicate")
    add(dict(_row(rng), input=evals[1]["input"]), "leakage")
    add(dict(evals[2], input=evals[2]["input"].replace("What links", "What joins"), tag="qa"), "near_leakage")
    add(dict(clean[6], output=_row(rng)["output"]), "contradiction")
    add(b"")  # a blank line: no row, but it still counts as a line
    add(dict(_row(rng), output="<p>" + _row(rng)["output"] + "</p>"), "debris")
    add(dict(_row(rng), input="Tom &amp; Jerry: " + _words(rng, 3) + "?"), "debris")
    add(dict(_row(rng), output="2026-03-01 12:00:01 ERROR worker crashed\n" + _row(rng)["output"]), "debris")
    add(dict(_row(rng), output="The caf\u00c3\u00a9 " + _row(rng)["output"]), "debris")
    add(dict(_row(rng), output=_row(rng)["output"] + "\x07"), "debris")
    add('{"instruction": "Answer the question.", "input": "broken', "schema")
    add(b'{"instruction": "Answer the question.", "input": "caf\xe9", "output": "latin-1 bytes"}', "schema")
    add({k: v for k, v in _row(rng).items() if k != "output"}, "schema")
    add(dict(_row(rng), output="   "), "schema")
    add(json.dumps([1, 2, 3]), "schema")
    add(dict(_row(rng), output=_words(rng, 120) + "."), "length", "style")
    add(dict(_row(rng), output="lol we r gonna fix it " + _words(rng, 6)), "style")
    add(dict(_row(rng), input="Mail me at jane.doe@gmail.com: " + _words(rng, 3) + "?"), "pii")
    add(dict(_row(rng), output=_row(rng)["output"] + " Call +44 20 7946 0958."), "pii")
    add(dict(_row(rng), output=_row(rng)["output"] + " Card 4111 1111 1111 1111."), "pii")
    add(_row(rng, tag=None), "tags")
    add(_row(rng, tag="explian"), "tags")

    (root / "data").mkdir(exist_ok=True)
    (root / "data/train.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    (root / "evals").mkdir(exist_ok=True)
    (root / "evals/eval.jsonl").write_text("".join(json.dumps(r) + "\n" for r in evals))
    return expected
