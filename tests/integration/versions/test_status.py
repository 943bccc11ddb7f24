"""`status`: never trained, up to date, or stale with the reasons (spec keys, data rows, base)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from adapterctl import manifest, versions
from adapterctl.core.project import Project


def _register_from_manifest(project: Path, adapter: Path) -> versions.Version:
    """As `train` does: the version records the manifest's spec as it is now."""
    p = Project(project)
    spec = manifest.load(p.manifest_path).adapter("support")
    return versions.register(p, "support", adapter, spec=spec, message="trained")


def _status(cli, project: Path) -> dict[str, dict]:
    result = cli("status", "--json", cwd=project)
    assert result.exit_code == 0, result.stderr
    return {s["name"]: s for s in json.loads(result.stdout)}


def test_never_trained_then_up_to_date(project: Path, adapters: list[Path], cli) -> None:
    states = _status(cli, project)
    assert states["support"]["state"] == states["docs"]["state"] == "never trained"
    v = _register_from_manifest(project, adapters[0])
    states = _status(cli, project)
    assert states["support"]["state"] == "up to date" and states["support"]["latest"] == v.short
    assert states["support"]["reasons"] == [] and states["docs"]["state"] == "never trained"


def test_spec_change_is_reported_key_by_key(project: Path, adapters: list[Path], cli) -> None:
    _register_from_manifest(project, adapters[0])
    path = project / "adapterctl.toml"
    path.write_text(path.read_text().replace("[adapters.support]\n", "[adapters.support]\nlora = { r = 8 }\n", 1))
    support = _status(cli, project)["support"]
    assert support["state"] == "stale"
    assert support["spec"] == [{"key": "lora.r", "old": 16, "new": 8}]
    assert support["reasons"] == ["lora.r: 8 in the manifest, 16 in the version"]
    table = cli("status", cwd=project).stdout
    assert "stale" in table and "lora.r: 8 in the manifest, 16 in the version" in " ".join(table.split())


def test_imported_adapter_is_stale_where_its_settings_differ_from_the_manifest(
    project: Path, adapters: list[Path], cli
) -> None:
    versions.import_folder(Project(project), "support", adapters[0])
    reasons = _status(cli, project)["support"]["reasons"]
    assert "lora.r: 16 in the manifest, 4 in the version" in reasons
    assert "lora.alpha: 32.0 in the manifest, 8.0 in the version" in reasons


def test_data_change_counts_rows_added_and_removed(project: Path, adapters: list[Path], cli) -> None:
    _register_from_manifest(project, adapters[0])
    data = project / "data" / "support.jsonl"
    lines = data.read_text().splitlines(keepends=True)
    extra = [json.dumps({"instruction": f"new question {i}", "output": "new answer"}) + "\n" for i in range(3)]
    data.chmod(0o644)
    data.write_text("".join(lines[1:] + extra))  # one row removed, three added
    subprocess.run(["dvc", "add", "-q", str(data)], cwd=project, check=True)
    support = _status(cli, project)["support"]
    assert support["state"] == "stale"
    assert support["reasons"] == ["data data/support.jsonl changed: +3 rows, −1 rows"]
    change = support["data"][0]
    rows = change["old_rows"]
    assert rows == len(lines)
    assert (change["new_rows"], change["added"], change["removed"]) == (rows + 2, 3, 1)


def test_base_weight_change_is_reported(project: Path, adapters: list[Path], cli) -> None:
    _register_from_manifest(project, adapters[0])
    weights_file = project / "models" / "tiny-base" / "model.safetensors"
    blob = bytearray(weights_file.read_bytes())
    blob[-1] ^= 0x01
    weights_file.chmod(0o644)
    weights_file.write_bytes(bytes(blob))
    support = _status(cli, project)["support"]
    assert support["state"] == "stale" and support["reasons"] == ["base weights changed"]

    path = project / "adapterctl.toml"
    path.write_text(
        path.read_text().replace('model = "models/tiny-base"', 'model = "org/other-model"\nrevision = "abc123"')
    )
    reasons = _status(cli, project)["support"]["reasons"]
    assert reasons == ["base model: models/tiny-base → org/other-model", "base revision: (none) → abc123"]


def test_status_of_an_unknown_adapter_is_an_error(project: Path, cli) -> None:
    result = cli("status", "suport", cwd=project)
    assert result.exit_code == 2 and "did you mean 'support'" in result.stderr
