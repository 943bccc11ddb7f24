"""Property-based: whatever a user types or writes, adapterctl answers with exit 0, 1 or 2 and
one line, never a traceback (issue 8, item 8).

Four kinds of input, each into the real project and the real command, run in-process with
typer's CliRunner for speed:

- manifests: the example adapterctl.toml with random keys set, replaced or removed, random
  TOML documents, and random text and bytes → `adapterctl validate` (and list/show/status);
- `--set` assignments → `adapterctl show NAME --set ...`;
- references → `adapterctl resolve/show REF` and `adapterctl log NAME`;
- data rows (JSONL lines, CSV, raw bytes) → the data loader train uses (`examples.build`),
  which must raise nothing but AdapterctlError.

Example counts come from a hypothesis profile: "ci" (the default; about 2,100 examples in
all), "dev" (quick) or "deep" (overnight), chosen with HYPOTHESIS_PROFILE.
"""

from __future__ import annotations

import copy
import os
import string
import sys
import traceback
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from adapterctl import manifest
from adapterctl.core.errors import AdapterctlError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

pytestmark = pytest.mark.slow

# Examples per test: a share of the profile's budget, set on each test below.
_COMMON: dict[str, Any] = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    "derandomize": True,
    "print_blob": True,
}
settings.register_profile("ci", max_examples=700, **_COMMON)
settings.register_profile("dev", max_examples=50, **_COMMON)
settings.register_profile("deep", max_examples=5000, **{**_COMMON, "derandomize": False})
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
_BUDGET = settings.default.max_examples


def _examples(share: float) -> settings:
    return settings(settings.default, max_examples=max(10, int(_BUDGET * share)))


# ── running the CLI in-process ────────────────────────────────────────────────


def invoke(*args: str):
    """`adapterctl ARGS` in-process; fails the example on any escaped exception or traceback."""
    from typer.testing import CliRunner

    from adapterctl.cli import app

    result = CliRunner().invoke(app, list(args), catch_exceptions=True)
    exc = result.exception
    if exc is not None and not isinstance(exc, SystemExit):
        stack = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        raise AssertionError(f"adapterctl {args!r} raised {type(exc).__name__}:\n{stack}")
    assert result.exit_code in (0, 1, 2), (args, result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, (args, result.stderr)
    if result.exit_code:
        assert result.stderr.strip(), (args, "failed without saying why")
    return result


# ── strategies ────────────────────────────────────────────────────────────────

# What a shell can pass in argv: any text but NUL.
arg_text = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=40)

scalars = st.one_of(
    st.integers(),  # unbounded: 2**40, -1, 10**30 ...
    st.integers(min_value=-3, max_value=3),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=30),
    st.sampled_from(
        [
            "",
            "auto",
            "all-linear",
            "none",
            "nf4",
            "loftq",
            ">= 0.2",
            "rouge_l",
            "data/support.jsonl",
            "../outside.jsonl",
            "/etc/passwd",
            "models/tiny-base",
            "data",
            "templates/support.txt",
        ]
    ),
    st.datetimes(),
    st.dates(),
)
toml_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=8,
)


def _fields(model) -> list[str]:
    return list(model.model_fields)


SECTIONS: dict[tuple[str, ...], list[str]] = {
    ("project",): _fields(manifest.ProjectSection),
    ("base",): _fields(manifest.BaseSection),
    ("defaults", "lora"): _fields(manifest.LoraSpec),
    ("defaults", "train"): _fields(manifest.TrainSpec),
    ("defaults", "eval"): _fields(manifest.EvalSpec),
    ("adapters", "support"): _fields(manifest.AdapterSection),
    ("adapters", "support", "lora"): _fields(manifest.LoraSpec),
    ("adapters", "support", "train"): _fields(manifest.TrainSpec),
    ("adapters", "support", "eval"): _fields(manifest.EvalSpec),
    ("adapters", "support", "gates"): ["rouge_l", "exact_match", "val_loss", "perplexity", "nosuch"],
    ("adapters", "docs"): _fields(manifest.AdapterSection),
    (): ["project", "base", "defaults", "adapters"],
    ("adapters",): ["support", "docs", "new-one", "bad name!", "x" * 70],
}


@st.composite
def mutated_manifests(draw, original: dict[str, Any]) -> str:
    """The example manifest with 1-4 keys set to random values or removed."""
    doc = copy.deepcopy(original)
    for _ in range(draw(st.integers(1, 4))):
        section = draw(st.sampled_from(sorted(SECTIONS)))
        key = draw(st.sampled_from(SECTIONS[section]) | st.text(max_size=12))
        table = doc
        for part in section:
            if not isinstance(table.get(part), dict):
                table[part] = {}
            table = table[part]
        if draw(st.integers(0, 5)) == 0:
            table.pop(key, None)
        else:
            table[key] = draw(toml_values)
    return _dump(doc)


def _dump(doc: dict[str, Any]) -> str:
    import tomli_w

    try:
        return tomli_w.dumps(doc)
    except (TypeError, ValueError):  # not representable in TOML (tomli_w's own limits)
        assume(False)
        raise


# ── manifests → validate ──────────────────────────────────────────────────────


@pytest.fixture
def original_manifest(project: Path) -> dict[str, Any]:
    return tomllib.loads((project / "adapterctl.toml").read_text())


@_examples(0.9)
@given(data=st.data())
def test_mutated_manifests_validate_cleanly(project: Path, original_manifest, data) -> None:
    text = data.draw(mutated_manifests(original_manifest))
    (project / "adapterctl.toml").write_text(text, encoding="utf-8")
    invoke("validate", "-C", str(project))
    invoke("list", "-C", str(project), "--json")
    invoke("show", "support", "-C", str(project), "--json")
    invoke("status", "-C", str(project), "--json")


@_examples(0.6)
@given(
    doc=st.dictionaries(st.sampled_from(SECTIONS[()]) | st.text(max_size=10), toml_values, max_size=5),
    raw=st.one_of(st.none(), st.binary(max_size=200), st.text(max_size=200)),
)
def test_random_documents_and_bytes_validate_cleanly(project: Path, doc, raw) -> None:
    path = project / "adapterctl.toml"
    if raw is None:
        path.write_text(_dump(doc), encoding="utf-8")
    elif isinstance(raw, bytes):
        path.write_bytes(raw)
    else:
        path.write_text(raw, encoding="utf-8")
    invoke("validate", "-C", str(project))


# ── --set → show ──────────────────────────────────────────────────────────────

SET_KEYS = [
    f"{table}.{key}"
    for table, model in (("lora", manifest.LoraSpec), ("train", manifest.TrainSpec), ("eval", manifest.EvalSpec))
    for key in _fields(model)
]
set_values = st.one_of(
    arg_text,
    st.integers().map(str),
    st.floats().map(repr),
    st.sampled_from(
        [
            "99999999999999999999999",
            "1099511627776",
            "-1",
            "0",
            "1e400",
            "nan",
            "inf",
            "true",
            "[1, 2",
            '["q_proj"]',
            '"all-linear"',
            "{a = 1}",
            "1979-05-27",
            "",
        ]
    ),
)


@_examples(0.5)
@given(
    assignments=st.lists(
        st.one_of(st.tuples(st.sampled_from(SET_KEYS), set_values).map("=".join), arg_text), min_size=1, max_size=3
    )
)
def test_set_overrides_show_cleanly(project: Path, assignments: list[str]) -> None:
    args = [a for pair in (("--set", a) for a in assignments) for a in pair]
    invoke("show", "support", "-C", str(project), *args)
    invoke("show", "support", "-C", str(project), "--json", *args)


# ── references → resolve, show, log ───────────────────────────────────────────


@pytest.fixture
def registry(project: Path, imported) -> dict[str, Any]:
    """Two versions of support, the older one in prod, the newer one's folder removed."""
    first, second = imported(2)
    assert invoke("deploy", first.ref, "--env", "prod", "-C", str(project)).exit_code == 0
    return {"ids": [first.id, second.id]}


@st.composite
def references(draw, ids: list[str]) -> str:
    name = draw(st.sampled_from(["support", "docs", "nosuch", "Support", ""]) | arg_text)
    target = draw(
        st.one_of(
            st.none(),
            st.sampled_from(ids).flatmap(lambda i: st.integers(0, 64).map(lambda n: i[:n])),
            st.text(string.hexdigits, max_size=70),
            st.sampled_from(["prod", "staging", "~", "~0", "~1", "~2", "~99999999999999999999", "~-1", "@", "HEAD"]),
            arg_text,
        )
    )
    return name if target is None else f"{name}@{target}"


@_examples(0.6)
@given(data=st.data())
def test_references_resolve_and_show_cleanly(project: Path, registry, data) -> None:
    ref = data.draw(references(registry["ids"]))
    for args in (("resolve", ref), ("show", ref), ("log", ref), ("resolve", ref, "--json")):
        invoke(*args, "-C", str(project))


# ── data rows → the loader train uses ─────────────────────────────────────────

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
row_keys = st.sampled_from(
    ["instruction", "input", "output", "prompt", "completion", "messages", "role", "content"]
) | st.text(max_size=8)
chat_messages = st.lists(
    st.fixed_dictionaries(
        {
            "role": st.sampled_from(["system", "user", "assistant", "tool", "bot"]) | st.text(max_size=5),
            "content": st.text(max_size=20) | json_values,
        }
    ),
    max_size=4,
)
rows = st.one_of(
    st.dictionaries(row_keys, json_values | chat_messages, max_size=5),
    st.fixed_dictionaries(
        {
            "instruction": st.text(max_size=20),
            "input": st.text(max_size=20),
            "output": st.text(max_size=20) | json_values,
        }
    ),
    st.fixed_dictionaries({"messages": chat_messages}),
    json_values,
)


@st.composite
def data_files(draw) -> tuple[str, bytes]:
    import json

    kind = draw(st.sampled_from(["jsonl", "jsonl", "jsonl", "latin-1", "csv", "bytes"]))
    if kind in ("jsonl", "latin-1"):  # latin-1: a file saved by an editor in the wrong encoding
        lines = draw(st.lists(rows.map(lambda r: json.dumps(r, ensure_ascii=False)) | st.text(max_size=30), max_size=6))
        return ".jsonl", "\n".join(lines).encode(kind if kind == "latin-1" else "utf-8", errors="replace")
    if kind == "csv":
        cells = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=12)
        header = draw(
            st.lists(
                st.sampled_from(["instruction", "input", "output", "prompt", "completion"]) | cells,
                min_size=1,
                max_size=4,
            )
        )
        body = draw(st.lists(st.lists(cells, min_size=len(header), max_size=len(header)), max_size=4))
        import csv
        import io

        out = io.StringIO()
        csv.writer(out).writerows([header, *body])
        return ".csv", out.getvalue().encode("utf-8")
    return ".jsonl", draw(st.binary(max_size=120))


@pytest.mark.parametrize(
    ("payload", "line", "force"),
    [(b"null\n", 1, True), (b"null\n{}\n", 1, True), (b"{}\n7\n", 2, True), (b"null\n{}\n", 1, False)],
)
def test_scalar_rows_do_not_crash_the_process(project: Path, run, payload: bytes, line: int, force: bool) -> None:
    """Finding F1: JSONL rows that are a bare `null` or number segfault pyarrow's JSON reader
    (datasets 5.2, pyarrow 26.0.1). The real `train` command, in its own process so that a
    crash shows as a negative exit code: its data check refuses the file, and with --allow-data-errors
    (past the check) the loader refuses it before pyarrow sees it; both name the line."""
    (project / "data" / "support.jsonl").write_bytes(payload)
    result = run(
        "train", "support", "--set", "train.max_steps=1", *(["--allow-data-errors"] if force else []), cwd=project
    )
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr
    said = f"support.jsonl:{line}: expected a JSON object per line" if force else f"support.jsonl lines {line}, "
    assert said in result.stderr, result.stderr[-2000:]


def _load_in_worker(root: str, rel: str, template: str | None, val_split: float) -> str | None:
    """Runs in the worker process: None when the data loaded or was refused with an
    AdapterctlError that names something; otherwise what escaped, with its stack."""
    from adapterctl.data import examples

    try:
        examples.build(Path(root), data=rel, val_data=None, template=template, val_split=val_split, seed=0)
    except AdapterctlError as exc:
        return None if str(exc).strip() else f"{type(exc).__name__} with an empty message"
    except BaseException:  # noqa: BLE001 - reporting it is the point
        return traceback.format_exc()
    return None


_worker: dict[str, Any] = {}


def _in_worker(*args: Any) -> str | None:
    """The data loader in a long-lived child process, so a crash in native code (pyarrow)
    fails the example instead of killing pytest."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    if "pool" not in _worker:
        _worker["pool"] = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    try:
        return _worker["pool"].submit(_load_in_worker, *args).result(timeout=120)
    except BrokenProcessPool:
        _worker.pop("pool").shutdown(wait=False)
        return "the process loading the data crashed (a signal, e.g. SIGSEGV in native code)"


@pytest.fixture
def data_worker():
    yield _in_worker
    if "pool" in _worker:
        _worker.pop("pool").shutdown(wait=True)


@_examples(0.4)
@given(file=data_files(), template=st.booleans(), val_split=st.sampled_from([0.0, 0.1, 0.5]))
def test_data_rows_load_cleanly(project: Path, data_worker, file, template: bool, val_split: float) -> None:
    suffix, payload = file
    path = project / "data" / f"fuzz{suffix}"
    path.write_bytes(payload)
    problem = data_worker(
        str(project), path.relative_to(project).as_posix(), "templates/support.txt" if template else None, val_split
    )
    assert problem is None, f"{payload!r}:\n{problem}"
