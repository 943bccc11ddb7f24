"""The command surface: generated docs are current, fast commands import no torch, and errors
become one line with exit code 2. (Help itself: tests/unit/test_cli_help.py.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from adapterctl.cli import docgen

REPO = Path(__file__).resolve().parents[2]


def test_docs_are_generated_from_the_app() -> None:
    assert (REPO / "docs/cli.md").read_text() == docgen.cli_markdown(), "run: python -m adapterctl.cli.docgen"
    assert (REPO / "docs/manifest.md").read_text() == docgen.manifest_markdown(), "run: python -m adapterctl.cli.docgen"


def imported_modules(*args: str, cwd: Path) -> set[str]:
    """Modules loaded by `python -m adapterctl ARGS`, from -X importtime."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "adapterctl", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**_env(), "PYTHONPATH": str(REPO)},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


HEAVY = {"torch", "transformers", "peft", "trl", "datasets", "bitsandbytes", "evaluate", "dvc", "git"}


def _state_changing(loaded: set[str]) -> set[str]:
    """The API face and the operations behind it: fast commands call the read-only views."""
    return {m for m in loaded if m == "adapterctl.api" or m.startswith(("adapterctl.ops", "adapterctl.train."))}


FAST = [("--help",), ("list",), ("list", "--json"), ("show", "support"), ("validate",), ("status",)]


@pytest.mark.parametrize("args", FAST, ids=" ".join)
def test_fast_commands_import_no_heavy_library(args: tuple[str, ...], example_project: Path) -> None:
    loaded = imported_modules(*args, cwd=example_project)
    assert not loaded & HEAVY, f"adapterctl {' '.join(args)} imported {sorted(loaded & HEAVY)}"
    assert not _state_changing(loaded) - {"adapterctl.train.runs"}, sorted(_state_changing(loaded))


def test_help_loads_no_command_module_and_no_rich(example_project: Path) -> None:
    loaded = imported_modules("--help", cwd=example_project)
    commands = {m for m in loaded if m.endswith("_cmds")}
    assert not commands, f"--help imported {sorted(commands)}: the summaries come from cli.COMMANDS"
    assert not {"rich", "pydantic", "adapterctl.manifest"} & loaded


def test_json_output_needs_no_rich(example_project: Path) -> None:
    assert "rich" not in imported_modules("list", "--json", cwd=example_project)


def test_help_in_process_leaves_torch_unimported() -> None:
    code = (
        "import sys\nfrom typer.testing import CliRunner\nfrom adapterctl.cli import app\n"
        "CliRunner().invoke(app, ['--help'])\nsys.exit(1 if 'torch' in sys.modules else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], env={**_env(), "PYTHONPATH": str(REPO)}).returncode == 0


def test_errors_are_one_line_with_exit_2_and_no_traceback(example_project: Path) -> None:
    manifest = example_project / "adapterctl.toml"
    text = manifest.read_text().replace("r = 16", "r = -1")
    manifest.write_text(text)
    line = text.splitlines().index("r = -1") + 1
    proc = subprocess.run(
        [sys.executable, "-m", "adapterctl", "validate"],
        cwd=example_project,
        capture_output=True,
        text=True,
        env={**_env(), "PYTHONPATH": str(REPO)},
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines == [f"error: adapterctl.toml:{line}: defaults.lora.r: input should be greater than 0, got -1"]


def test_traceback_flag_shows_the_stack(example_project: Path) -> None:
    (example_project / "adapterctl.toml").write_text("[base\n")
    proc = subprocess.run(
        [sys.executable, "-m", "adapterctl", "--traceback", "validate"],
        cwd=example_project,
        capture_output=True,
        text=True,
        env={**_env(), "PYTHONPATH": str(REPO)},
    )
    assert proc.returncode != 0 and "Traceback" in proc.stderr and "ManifestError" in proc.stderr


def test_outside_a_project_is_a_clear_error(tmp_path: Path, cli) -> None:
    result = cli("list", cwd=tmp_path)
    assert result.exit_code == 2
    assert "no adapterctl.toml" in result.stderr and "adapterctl init" in result.stderr


def test_bad_reference_syntax_is_exit_2(example_project: Path, cli) -> None:
    result = cli("show", "nope", cwd=example_project)
    assert result.exit_code == 2
    assert "no adapter named 'nope'" in result.stderr


def test_version_flag(cli) -> None:
    from adapterctl import __version__

    result = cli("--version")
    assert result.exit_code == 0 and __version__ in result.stdout


def test_readme_test_command_is_what_ci_runs() -> None:
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci/run").read_text()
    test_block = readme.split("## Run the tests", 1)[1].split("```bash\n", 1)[1].split("\n```", 1)[0].strip()
    assert test_block in ci.splitlines(), "the README's test command and .ci/run differ"
    assert "pytest" in test_block
