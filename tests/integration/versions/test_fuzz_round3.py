"""Property-based, round 3 (issue 17): the newer inputs never end in a traceback.

- human-eval sheets: CSV bytes in any encoding, long fields, missing or odd columns, a
  folder → `sheets.summarise` raises nothing but AdapterctlError;
- `report` and `check`: random git revisions, and base commits whose pointer files, cards,
  eval results or lock file hold random bytes or TOML → exit 0-3 with one line, never a
  traceback;
- data rows: nesting depth, row size around the limit, encodings (UTF-8, UTF-16, Latin-1,
  random bytes) in JSONL and CSV → `data check` (every check but token length) and the
  training loader's scan raise nothing but AdapterctlError.

600 examples each in CI, ADAPTERCTL_FUZZ_EXAMPLES=N for a campaign (the recorded one ran 1,000;
HYPOTHESIS_PROFILE=dev runs 50 for a quick look).
"""

from __future__ import annotations

import json
import os
import shutil
import traceback
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapterctl.core.errors import AdapterctlError

pytestmark = pytest.mark.slow

EXAMPLES = (
    50 if os.environ.get("HYPOTHESIS_PROFILE") == "dev" else int(os.environ.get("ADAPTERCTL_FUZZ_EXAMPLES", "600"))
)
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "latin-1", "cp1252"]
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


def _only_adapterctl_errors(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except AdapterctlError:
        return None
    except Exception as exc:  # noqa: BLE001 - the property: nothing else escapes
        stack = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        raise AssertionError(f"{fn.__name__} raised {type(exc).__name__}:\n{stack}") from None


def _encode(text: str, encoding: str) -> bytes:
    return text.encode(encoding, errors="replace")


# ── human-eval sheets ─────────────────────────────────────────────────────────

VID = "a" * 64
MD5 = "0" * 32
HASHES = [f"{i:016x}" for i in range(4)]


@st.composite
def sheets(draw) -> bytes:
    from adapterctl.evaluation import sheets as sheet_mod

    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=400))
    columns = sheet_mod.TEXT_COLUMNS + sheet_mod.RATING_COLUMNS
    if draw(st.booleans()):
        columns = draw(st.lists(st.sampled_from([*columns, "", "x"]), max_size=len(columns) + 2))
    rows = []
    for _ in range(draw(st.integers(0, 6))):
        cell = st.one_of(
            st.sampled_from(["1", "5", "0", "6", "", " 3 ", "4.0", VID, MD5, *HASHES]),
            TEXT,
            st.just("x" * draw(st.sampled_from([10, 140_000, 300_000]))),
        )
        rows.append([draw(cell) for _ in range(draw(st.integers(0, len(columns) + 1)))])
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_NONNUMERIC])))
    writer.writerow(columns)
    writer.writerows(rows)
    text = buf.getvalue()
    if draw(st.booleans()):  # break the quoting now and then
        text = text.replace('"', draw(st.sampled_from(["", '""', '"\n'])), draw(st.integers(0, 3)))
    return _encode(text, draw(st.sampled_from(ENCODINGS)))


@SETTINGS
@given(raw=sheets(), as_folder=st.integers(0, 30))
def test_sheets_import_without_tracebacks(tmp_path: Path, raw: bytes, as_folder: int) -> None:
    from adapterctl.evaluation import sheets as sheet_mod

    path = tmp_path / "sheet.csv"
    if path.is_dir():
        path.rmdir()
    path.unlink(missing_ok=True)
    if as_folder == 0:
        path.mkdir()
    else:
        path.write_bytes(raw)
    _only_adapterctl_errors(sheet_mod.summarise, path, VID, {MD5: set(HASHES)})


# ── data rows ─────────────────────────────────────────────────────────────────

MAX_ROW_BYTES = 4096


@st.composite
def data_lines(draw) -> str:
    kind = draw(st.integers(0, 4))
    depth = draw(st.sampled_from([0, 1, 5, 63, 64, 65, 200, 1200, 5000]))
    if kind == 0:  # nested lists in a field
        return '{"instruction": "q", "output": ' + "[" * depth + '"a"' + "]" * depth + "}"
    if kind == 1:  # nested objects
        return '{"instruction": "q", "output": "a", "x": ' + '{"k": ' * depth + "1" + "}" * depth + "}"
    if kind == 2:  # size around the limit
        size = draw(st.sampled_from([0, 100, MAX_ROW_BYTES - 40, MAX_ROW_BYTES, MAX_ROW_BYTES + 1, 20_000]))
        return json.dumps({"instruction": "q" * size, "output": draw(TEXT) or "a"})
    if kind == 3:
        return json.dumps({"instruction": draw(TEXT), "input": draw(TEXT), "output": draw(TEXT)}, ensure_ascii=False)
    return draw(TEXT)


@st.composite
def data_files(draw) -> tuple[str, bytes]:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from(["jsonl", "csv"])), draw(st.binary(max_size=600))
    encoding = draw(st.sampled_from(ENCODINGS))
    lines = draw(st.lists(data_lines(), min_size=0, max_size=6))
    if draw(st.booleans()):
        import csv
        import io

        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(["instruction", "output"])
        for line in lines:
            writer.writerow([line, draw(TEXT)])
        return "csv", _encode(buf.getvalue(), encoding)
    return "jsonl", _encode("\n".join(lines) + draw(st.sampled_from(["", "\n", "\r\n"])), encoding)


@pytest.fixture
def rows_project(tmp_path: Path) -> Path:
    root = tmp_path / "rows"
    (root / "data").mkdir(parents=True)
    (root / "adapterctl.toml").write_text(
        '[base]\nmodel = "models/none"\n\n'
        f'[defaults.data]\nlength = "off"\nmax_row_bytes = {MAX_ROW_BYTES}\n\n'
        '[adapters.j]\ndata = "data/t.jsonl"\n\n[adapters.c]\ndata = "data/t.csv"\n'
    )
    return root


@SETTINGS
@given(file=data_files())
def test_data_rows_check_without_tracebacks(rows_project: Path, file: tuple[str, bytes]) -> None:
    from adapterctl import manifest
    from adapterctl.core.project import Project
    from adapterctl.data import loading
    from adapterctl.data.hygiene import checker

    suffix, raw = file
    path = rows_project / f"data/t.{suffix}"
    path.write_bytes(raw)
    m = manifest.load(rows_project / "adapterctl.toml")
    spec = m.adapter("j" if suffix == "jsonl" else "c")
    _only_adapterctl_errors(checker.check, Project(rows_project), spec, m.base, use_cache=False)
    _only_adapterctl_errors(loading.scan_text, path, f"data/t.{suffix}")


# ── report and check: git revisions and what the base commit holds ────────────

CARD = (
    Path(__file__).parents[2] / "fixtures/cards/fdbb76b1093a3a913cd81a1408261b0d064690038aa155f02dcd19c3cf075eb8.toml"
)
OTHER = "ab" * 32
REVISIONS = [
    "main",
    "HEAD",
    "@{-1}",
    "@{-3}",
    "HEAD~1",
    "HEAD~99",
    "main^{tree}",
    "main:adapters",
    "main^!",
    "main..HEAD",
    "-x",
    "--all",
    "",
    " ",
    ":/base",
    "refs/heads/main",
    "origin/main",
    "0" * 40,
    "HEAD@{1}",
    "main~0^0",
]


@pytest.fixture
def report_repo(tmp_path: Path) -> Path:
    import git

    root = tmp_path / "proj"
    (root / "adapters/support").mkdir(parents=True)
    (root / "adapterctl.toml").write_text(
        '[base]\nmodel = "m"\n\n[adapters.support]\ndata = "d.jsonl"\n\n[adapters.support.gates]\nrouge_l = ">= 0.2"\n'
    )
    (root / "adapters/support/.keep").write_text("")
    repo = git.Repo.init(root, initial_branch="main")
    with repo.config_writer() as config:
        config.set_value("user", "email", "t@example.com")
        config.set_value("user", "name", "t")
    repo.git.add("-A")
    repo.git.commit("-qm", "base")
    repo.git.checkout("-qb", "feature")
    shutil.copy(CARD, root / "adapters/support" / CARD.name)
    repo.git.add("-A")
    repo.git.commit("-qm", "a new version")
    return root


def _base_commit(root: Path, path: str, data: bytes) -> str:
    """A commit (on no branch) whose tree is main's plus `path` holding `data`: made in-process."""
    from io import BytesIO

    import git
    from git.index.typ import BaseIndexEntry
    from gitdb.base import IStream

    repo = git.Repo(root)
    blob = repo.odb.store(IStream("blob", len(data), BytesIO(data)))
    index = git.IndexFile.from_tree(repo, "main")
    index.add([BaseIndexEntry((0o100644, blob.binsha, 0, path))])
    tree = index.write_tree()
    commit = git.Commit.create_from_tree(repo, tree, "fuzz", parent_commits=[repo.commit("main")], head=False)
    return commit.hexsha


@st.composite
def base_contents(draw) -> tuple[str, bytes]:
    path = draw(
        st.sampled_from(
            [
                "environments/prod/support.toml",
                f"adapters/support/{OTHER}.toml",
                f"adapters/support/{CARD.stem}.toml",
                "adapterctl.lock",
                f"adapters/support/{OTHER}.eval-0123456789abcdef.jsonl",
            ]
        )
    )
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return path, draw(st.binary(max_size=300))
    if kind == 1:  # the fixture card with lines dropped or changed
        lines = CARD.read_text().splitlines()
        for _ in range(draw(st.integers(1, 4))):
            i = draw(st.integers(0, len(lines) - 1))
            lines[i] = draw(st.sampled_from(["", "x = [", "version = 3", lines[i][::-1], "[metrics.evals.k]"]))
        return path, "\n".join(lines).encode()
    if kind == 2:
        import tomli_w

        keys = st.sampled_from(["version", "moves", "environments", "schema", "id", "metrics", "name", "x"])
        values = st.recursive(
            st.one_of(st.integers(), st.text(max_size=20), st.booleans(), st.floats(allow_nan=False)),
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
            max_leaves=8,
        )
        return path, tomli_w.dumps(draw(st.dictionaries(keys, values, max_size=4))).encode()
    return path, _encode(draw(TEXT), draw(st.sampled_from(ENCODINGS)))


def _invoke(*args: str):
    from typer.testing import CliRunner

    from adapterctl.cli import app

    result = CliRunner().invoke(app, list(args), catch_exceptions=True)
    exc = result.exception
    if exc is not None and not isinstance(exc, SystemExit):
        stack = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        raise AssertionError(f"adapterctl {args!r} raised {type(exc).__name__}:\n{stack}")
    assert result.exit_code in (0, 1, 2, 3), (args, result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    if result.exit_code:
        assert result.stderr.strip(), (args, "failed without saying why")
    return result


@SETTINGS
@given(
    revision=st.one_of(st.sampled_from(REVISIONS), st.text(alphabet="@{}^~:./-_ main0123HEAD!", max_size=14)),
    content=st.one_of(st.none(), base_contents()),
    command=st.sampled_from(["report", "check"]),
)
def test_report_and_check_without_tracebacks(report_repo: Path, revision, content, command) -> None:
    cwd = os.getcwd()
    os.chdir(report_repo)
    try:
        base = revision if content is None else _base_commit(report_repo, *content)
        _invoke(command, "--base", base)
    finally:
        os.chdir(cwd)
